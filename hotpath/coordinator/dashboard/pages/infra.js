import { call, catalog, headers } from "../lib/api.js";
import {
  Card,
  html,
  KeyValues,
  num,
  Show,
  Status,
  Table,
  time,
  useCatalog,
  useJson,
  useTool,
} from "../lib/ui.js";
import { useEffect, useState } from "../vendor/preact-hooks.mjs";

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
    { label: "ack pending", align: "right", render: (c) => c.ack_pending ?? "—" },
    { label: "redelivered", align: "right", render: (c) => c.redelivered ?? "—" },
  ]} />`;
}

/** A report tool that runs on demand (analysis takes a moment) on a path: its last answer, and a button. */
function OnDemand({ agent, tool, label, id, path, render }) {
  useCatalog();
  const [state, setState] = useState();
  const [target, setTarget] = useState(path);
  const absent = catalog.absence(agent, tool);
  if (absent) return html`<p class="missing" id=${`${id}-missing`}>Not there yet: ${absent}.</p>`;
  const run = async (e) => {
    e.preventDefault();
    setState({ status: "loading" });
    const r = await call(agent, tool, { path: target });
    setState(r.ok ? { status: "ok", data: r.result } : { status: "error", error: r.error });
  };
  return html`<div id=${id}>
    <form class="inline" onSubmit=${run}>
      <label>path <input name="path" value=${target} onInput=${(e) => setTarget(e.currentTarget.value)} /></label>
      <button type="submit" disabled=${state?.status === "loading"}>${label}</button>
    </form>
    ${state ? html`<${Show} state=${state} what=${`${agent}.${tool}`}>${(r) => html`<div class="result">${render(r)}</div>`}<//>` : null}
  </div>`;
}

/** quality.evaluate_gate: passed/failed, then each condition with its value, threshold and failures. */
function Gate({ r }) {
  return html`<div>
    <p>gate <span class=${`badge ${r.status === "passed" ? "up" : "down"}`} data-gate=${r.status}>${r.status}</span>
      <span class="muted"> new code against ${r.against.kind} ${r.against.ref}</span></p>
    <${Table} id="gate-conditions" rows=${r.conditions.map((c) => ({ ...c, id: c.metric }))} columns=${[
      { label: "metric", key: "metric" },
      {
        label: "status",
        render: (c) =>
          html`<span class=${`badge ${c.status === "ok" ? "up" : c.status === "error" ? "down" : ""}`}>${c.status}</span>`,
      },
      {
        label: "value",
        align: "right",
        render: (c) => (c.value === null || c.value === undefined ? "—" : num(c.value)),
      },
      { label: "threshold", align: "right", render: (c) => `${c.op} ${c.threshold}` },
      { label: "detail", render: (c) => c.detail ?? "" },
      { label: "failures", align: "right", render: (c) => (c.failures ?? []).length },
    ]} />
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

/** infra.get_alerts' alerts (firing by default): the rule, its labels, severity, since when. */
export function AlertsTable({ id, alerts }) {
  return html`<${Table} id=${id} rows=${alerts} empty="no alert is firing" columns=${[
    { label: "alert", render: (a) => a.alert },
    { label: "severity", render: (a) => html`<span class=${`badge ${a.severity}`}>${a.severity}</span>` },
    { label: "state", key: "state" },
    {
      label: "labels",
      render: (a) =>
        Object.entries(a.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(" "),
    },
    { label: "since", render: (a) => time(a.fired_at ?? a.active_at) },
    { label: "summary", key: "summary" },
  ]} />`;
}

/** infra.health_report: the overall status, then one row per agent of the manifest. */
function Health({ r }) {
  const mb = (b) => (typeof b === "number" ? `${num(b / 1_048_576, 0)} MB` : "—");
  const s = (x) => (typeof x === "number" ? `${num(x * 1000, 1)} ms` : "—");
  return html`<div id="health-report" data-status=${r.status}>
    <${KeyValues} items=${[
      ["status", html`<span class=${`badge ${r.status}`}>${r.status}</span>`],
      ["firing alerts", String(r.firing)],
      ["checked", r.at === null ? "not yet" : time(r.at)],
      ["stale", r.stale ? "yes" : "no"],
    ]} />
    <${Table} id="health-agents" rows=${r.agents.map((a) => ({ ...a, id: a.agent }))} empty="no check ran yet"
      columns=${[
        { label: "agent", key: "agent" },
        { label: "state", render: (a) => html`<span class=${`badge ${a.state}`}>${a.state}</span>` },
        { label: "instances", align: "right", key: "instances" },
        {
          label: "heartbeat age",
          align: "right",
          render: (a) => (a.heartbeat_age_s === null ? "—" : `${num(a.heartbeat_age_s, 1)} s`),
        },
        { label: "loop lag p99", align: "right", render: (a) => s(a.event_loop_lag_p99_s) },
        { label: "RSS", align: "right", render: (a) => mb(a.rss_bytes) },
        { label: "tool p99", align: "right", render: (a) => s(a.tool_p99_s) },
        { label: "alerts", render: (a) => a.alerts.join(", ") },
      ]} />
  </div>`;
}

export function Infra() {
  const alerts = useTool("infra", "get_alerts", { state: "all" }, { every: 5_000 });
  const health = useTool("infra", "health_report", {}, { every: 5_000 });
  return html`<div class="grid">
    <${Card} title="Alerts (firing and pending)">
      <${Show} state=${alerts} what="infra.get_alerts">
        ${(r) => html`<${AlertsTable} id="alerts" alerts=${r.alerts} />`}
      <//>
    <//>
    <${Card} title="Health report (InfraEngineer)" wide>
      <${Show} state=${health} what="infra.health_report">${(r) => html`<${Health} r=${r} />`}<//>
    <//>
    <${Card} title="Consumer lag" wide><${Consumers} /><//>
    <${Card} title="Tool-call latencies through the coordinator" wide><${Latencies} /><//>
    <${Card} title="Code quality: Architect">
      <${OnDemand} agent="architect" tool="analyze_code" label="Analyze the code" id="architect-report"
        path="core" render=${(r) => html`<${Report} r=${r} />`} />
    <//>
    <${Card} title="Code quality: QualityGate">
      <${OnDemand} agent="quality" tool="evaluate_gate" label="Evaluate the gate" id="quality-report"
        path="." render=${(r) => html`<${Gate} r=${r} />`} />
    <//>
  </div>`;
}
