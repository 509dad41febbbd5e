import { call } from "../lib/api.js";
import { Card, html, KeyValues, Show, Table, time, useTool } from "../lib/ui.js";
import { useState } from "../vendor/preact-hooks.mjs";

function describe(record) {
  const d = record.data ?? {};
  if (Array.isArray(d.violations) && d.violations.length > 0)
    return d.violations.map((v) => v.message).join("; ");
  if (d.outcome === "pass") return `passed ${d.checked?.length ?? 0} checks`;
  return d.event_type ?? record.type;
}

const recordColumns = [
  { label: "time", render: (r) => time(r.time) },
  { label: "type", key: "type" },
  { label: "symbol", render: (r) => r.data?.symbol ?? "—" },
  { label: "account", render: (r) => r.data?.account ?? "—" },
  {
    label: "outcome",
    render: (r) =>
      r.data?.outcome ? html`<span class=${`badge ${r.data.outcome}`}>${r.data.outcome}</span>` : "—",
  },
  { label: "detail", render: describe },
];

function Search() {
  const [form, setForm] = useState({ symbol: "", order_id: "", account: "", kind: "", outcome: "" });
  const [result, setResult] = useState();
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const submit = async (e) => {
    e.preventDefault();
    const args = { limit: 200 };
    for (const [k, v] of Object.entries(form)) if (v.trim() !== "") args[k] = v.trim();
    setResult({ status: "loading" });
    const r = await call("compliance", "audit_trail", args);
    setResult(r.ok ? { status: "ok", data: r.result } : { status: "error", error: r.error });
  };
  return html`<div>
    <form class="inline" id="audit-search" onSubmit=${submit}>
      <label>symbol <input name="symbol" placeholder="BTC/USDT" value=${form.symbol} onInput=${set("symbol")} /></label>
      <label>order id <input name="order_id" value=${form.order_id} onInput=${set("order_id")} /></label>
      <label>account <input name="account" value=${form.account} onInput=${set("account")} /></label>
      <label>kind <select name="kind" value=${form.kind} onChange=${set("kind")}>
        <option value="">any</option><option value="decision">decision</option><option value="control">control</option></select></label>
      <label>outcome <select name="outcome" value=${form.outcome} onChange=${set("outcome")}>
        <option value="">any</option><option value="pass">pass</option><option value="violation">violation</option></select></label>
      <button type="submit">Search</button>
    </form>
    ${
      result
        ? html`<${Show} state=${result} what="compliance.audit_trail">
          ${(
            r,
          ) => html`<p class="muted" id="audit-count">${r.records.length} records (${r.scanned} scanned${r.truncated ? ", truncated" : ""})</p>
            <${Table} id="audit-results" rows=${r.records.map((x) => ({ id: x.seq, ...x }))} columns=${recordColumns} />`}
        <//>`
        : null
    }
  </div>`;
}

export function Compliance() {
  const report = useTool("compliance", "compliance_report", {}, { every: 5_000 });
  const violations = useTool(
    "compliance",
    "audit_trail",
    { outcome: "violation", limit: 100 },
    { every: 5_000 },
  );
  return html`<div class="grid">
    <${Card} title="Report">
      <${Show} state=${report} what="compliance.compliance_report">
        ${(r) => html`<${KeyValues} items=${[
          ["decisions", r.decisions],
          ["passed", r.passed],
          ["with violations", r.with_violations, r.with_violations > 0 ? "neg" : ""],
          ["violations", r.violations],
          ["controls", r.controls],
        ]} />
        <${Table} id="by-rule" rows=${Object.entries(r.by_rule ?? {}).map(([rule, n]) => ({ id: rule, rule, n }))}
          empty="no violation by any rule" columns=${[
            { label: "rule", key: "rule" },
            { label: "violations", align: "right", key: "n" },
          ]} />`}
      <//>
    <//>
    <${Card} title="Violations">
      <${Show} state=${violations} what="compliance.audit_trail">
        ${(
          r,
        ) => html`<${Table} id="violations" rows=${r.records.map((x) => ({ id: x.seq, ...x }))} empty="no violation recorded"
          columns=${recordColumns} />`}
      <//>
    <//>
    <${Card} title="Audit-trail search" wide><${Search} /><//>
  </div>`;
}
