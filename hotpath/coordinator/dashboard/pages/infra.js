import { call, catalog, headers, pick } from "../lib/api.js";
import { Card, html, num, Show, Status, Table, time, useCatalog, useJson, useTool } from "../lib/ui.js";
import { useEffect, useState } from "../vendor/preact-hooks.mjs";
import { firstArray } from "./common.js";

/**
 * Per-call latency from the coordinator's Prometheus histogram `bot4_tool_call_seconds`: count, mean,
 * and p50/p99 as the upper bound of the bucket the quantile falls in.
 */
export function latencies(text) {
  const byTool = new Map();
  const entry = (tool) => {
    let e = byTool.get(tool);
    if (e === undefined) {
      e = { tool, buckets: new Map(), sum: 0, count: 0 };
      byTool.set(tool, e);
    }
    return e;
  };
  for (const line of text.split("\n")) {
    const m = /^bot4_tool_call_seconds_(bucket|sum|count)\{([^}]*)\} ([0-9.eE+-]+|\+Inf)$/.exec(line);
    if (m === null) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const tool = labels.tool ?? "?";
    const value = Number(m[3]);
    const e = entry(tool);
    if (m[1] === "bucket") {
      // Summed over transports: one cumulative count per bucket bound.
      const le = labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(labels.le);
      e.buckets.set(le, (e.buckets.get(le) ?? 0) + value);
    } else if (m[1] === "sum") e.sum += value;
    else e.count += value;
  }
  const quantile = (e, q) => {
    const sorted = [...e.buckets].map(([le, n]) => ({ le, n })).sort((a, b) => a.le - b.le);
    const target = q * e.count;
    return sorted.find((b) => b.n >= target)?.le ?? null;
  };
  return [...byTool.values()]
    .filter((e) => e.count > 0)
    .map((e) => ({
      id: e.tool,
      tool: e.tool,
      count: e.count,
      mean: e.sum / e.count,
      p50: quantile(e, 0.5),
      p99: quantile(e, 0.99),
    }))
    .sort((a, b) => b.count - a.count);
}

function Latencies() {
  const [rows, setRows] = useState();
  useEffect(() => {
    let alive = true;
    const run = async () => {
      const res = await fetch("/metrics", { headers: headers() });
      if (res.ok && alive) setRows(latencies(await res.text()));
    };
    void run().catch(() => undefined);
    const t = setInterval(() => void run().catch(() => undefined), 5_000);
    return () => {
      alive = false;
      clearInterval(t);
    };
  }, []);
  if (rows === undefined) return html`<p class="muted">loading…</p>`;
  const ms = (s) => (s === null ? "—" : Number.isFinite(s) ? `≤ ${num(s * 1000, 1)} ms` : "> top bucket");
  return html`<${Table} id="latencies" rows=${rows} empty="no routed call yet" columns=${[
    { label: "agent.tool", key: "tool" },
    { label: "calls", align: "right", key: "count" },
    { label: "mean", align: "right", render: (r) => `${num(r.mean * 1000, 2)} ms` },
    { label: "p50", align: "right", render: (r) => ms(r.p50) },
    { label: "p99", align: "right", render: (r) => ms(r.p99) },
  ]} />`;
}

function Consumers() {
  const status = useJson("/status", 5_000);
  if (status.status !== "ok") return html`<${Status} state=${status} what="/status" />`;
  const rows = status.data.agents.flatMap((a) =>
    (a.consumers ?? []).map((c) => ({ id: `${a.name}/${c.name}`, agent: a.name, ...c })),
  );
  return html`<${Table} id="consumers" rows=${rows} columns=${[
    { label: "function", key: "agent" },
    { label: "consumer", render: (c) => `${c.stream}/${c.name}` },
    { label: "subject", key: "subject" },
    { label: "exists", render: (c) => (c.exists ? "yes" : html`<span class="muted">not yet</span>`) },
    { label: "lag", align: "right", render: (c) => c.lag ?? "—" },
    { label: "ack pending", align: "right", render: (c) => c.ackPending ?? "—" },
    { label: "redelivered", align: "right", render: (c) => c.redelivered ?? "—" },
  ]} />`;
}

/** A report tool that runs on demand (analysis takes a moment): its last answer, and a button. */
function OnDemand({ agent, tool, label, id }) {
  useCatalog();
  const [state, setState] = useState();
  const absent = catalog.absence(agent, tool);
  if (absent) return html`<p class="missing" id=${`${id}-missing`}>Not there yet: ${absent}.</p>`;
  const run = async () => {
    setState({ status: "loading" });
    const r = await call(agent, tool, {});
    setState(r.ok ? { status: "ok", data: r.result } : { status: "error", error: r.error });
  };
  return html`<div id=${id}>
    <button onClick=${run} disabled=${state?.status === "loading"}>${label}</button>
    ${state ? html`<${Show} state=${state} what=${`${agent}.${tool}`}>${(r) => html`<${Report} r=${r} />`}<//>` : null}
  </div>`;
}

/** A generic report: its scalar fields, then each list as a table of its scalar columns. */
function Report({ r }) {
  if (r === null || typeof r !== "object") return html`<pre>${JSON.stringify(r, null, 2)}</pre>`;
  const scalars = Object.entries(r).filter(([, v]) => v === null || typeof v !== "object");
  const lists = Object.entries(r).filter(
    ([, v]) => Array.isArray(v) && v.length > 0 && typeof v[0] === "object",
  );
  return html`<div>
    <dl class="kv">${scalars.map(([k, v]) => html`<div><dt>${k}</dt><dd>${typeof v === "number" ? num(v) : String(v)}</dd></div>`)}</dl>
    ${lists.map(([k, v]) => {
      const cols = Object.keys(v[0]).filter((c) => v[0][c] === null || typeof v[0][c] !== "object");
      return html`<h3 class="muted">${k}</h3><${Table} rows=${v.slice(0, 100)} columns=${cols.map((c) => ({ label: c, render: (row) => String(row[c] ?? "—") }))} />`;
    })}
  </div>`;
}

export function Infra() {
  const alerts = useTool("infra", "get_alerts", {}, { every: 5_000 });
  const health = useTool("infra", "health_report", {}, { every: 10_000 });
  return html`<div class="grid">
    <${Card} title="Alerts">
      <${Show} state=${alerts} what="infra.get_alerts">
        ${(r) =>
          html`<${Table} rows=${firstArray(r, ["alerts"])} empty="no alert is firing" columns=${[
            { label: "alert", render: (a) => pick(a, "name") ?? pick(a, "alert") ?? "?" },
            { label: "severity", render: (a) => a.severity ?? "—" },
            { label: "since", render: (a) => time(pick(a, "since") ?? pick(a, "at")) },
            { label: "message", render: (a) => a.message ?? a.summary ?? "" },
          ]} />`}
      <//>
    <//>
    <${Card} title="Health report">
      <${Show} state=${health} what="infra.health_report">${(r) => html`<${Report} r=${r} />`}<//>
    <//>
    <${Card} title="Consumer lag" wide><${Consumers} /><//>
    <${Card} title="Tool-call latencies through the coordinator" wide><${Latencies} /><//>
    <${Card} title="Code quality: Architect">
      <${OnDemand} agent="architect" tool="analyze_code" label="Analyze the code" id="architect-report" />
    <//>
    <${Card} title="Code quality: QualityGate">
      <${OnDemand} agent="quality" tool="evaluate_gate" label="Evaluate the gate" id="quality-report" />
    <//>
  </div>`;
}
