import { pick } from "../lib/api.js";
import { LineChart } from "../lib/charts.js";
import {
  Card,
  html,
  KeyValues,
  money,
  num,
  pct,
  Show,
  Status,
  signClass,
  Table,
  time,
  useEvents,
  useJson,
  useTool,
} from "../lib/ui.js";
import { useEffect } from "../vendor/preact-hooks.mjs";
import { equitySamples, label, numericFields, pointsOf } from "./common.js";

export function AgentsTable({ status }) {
  const rows = status.agents.map((a) => ({
    ...a,
    id: a.name,
    lag: (a.consumers ?? []).reduce((s, c) => s + (c.lag ?? 0), 0),
  }));
  return html`<${Table}
    id="agents"
    rows=${rows}
    columns=${[
      { label: "agent", render: (a) => html`<b>${a.name}</b> <span class="muted">${a.title}</span>` },
      { label: "kind", key: "kind" },
      { label: "health", render: (a) => html`<span class=${`badge ${a.health}`}>${a.health}</span>` },
      { label: "instances", align: "right", render: (a) => a.instances.length },
      { label: "tools", align: "right", key: "tools" },
      { label: "consumer lag", align: "right", render: (a) => (a.kind === "function" ? a.lag : "—") },
      { label: "version", render: (a) => a.version ?? "—" },
    ]}
  />`;
}

function Equity() {
  const ledger = useTool("ledger", "balance_history", {}, { every: 10_000 });
  const risk = useTool("risk", "risk_metrics", {}, { every: 2_000 });
  useEffect(() => {
    if (risk.status === "ok" && Number.isFinite(risk.data.equity)) {
      equitySamples.push({ time: Date.now(), value: risk.data.equity });
      if (equitySamples.length > 5_000) equitySamples.shift();
    }
  }, [risk.data]);
  if (ledger.status === "ok")
    return html`<${LineChart} id="equity-chart" area points=${pointsOf(ledger.data, ["points", "history"])} />`;
  return html`<div>
    ${
      ledger.status === "missing"
        ? html`<p class="missing">Not there yet: ${ledger.error.message} (the ledger's balance history). Showing the
          equity RiskQuant marks every 2 s since this dashboard opened.</p>`
        : html`<${Status} state=${ledger} what="ledger.balance_history" />`
    }
    <${Show} state=${risk} what="risk.risk_metrics">
      ${(r) =>
        html`<${KeyValues} items=${[
          ["equity", money(r.equity)],
          ["peak", money(r.peak_equity)],
          ["drawdown", pct(r.drawdown)],
        ]} />`}
    <//>
    <${LineChart} id="equity-chart" area points=${[...equitySamples]} height=${200} />
  </div>`;
}

function TodayPnl({ positions }) {
  const day = useTool("ledger", "period_pnl", { period: "day" }, { every: 10_000 });
  if (day.status === "ok")
    return html`<${KeyValues} items=${numericFields(day.data).map(([k, v]) => [label(k), num(v), signClass(v)])} />`;
  const realized = (positions ?? []).reduce((s, p) => s + (pick(p, "realizedPnl") ?? 0), 0);
  return html`<div>
    <${Status} state=${day} what="ledger.period_pnl" />
    <${KeyValues} items=${[["realized PnL (exchange positions)", money(realized), signClass(realized)]]} />
  </div>`;
}

function Alerts() {
  const alerts = useTool("infra", "get_alerts", {}, { every: 5_000 });
  const breaches = useEvents("events.risk.breach", 20);
  const violations = useEvents("events.compliance.violation", 20);
  const live = [...breaches, ...violations].sort((a, b) => (a.time < b.time ? 1 : -1));
  return html`<div>
    <${Show} state=${alerts} what="infra.get_alerts">
      ${(r) => html`<${Table} id="infra-alerts" rows=${Array.isArray(r) ? r : (r.alerts ?? [])}
        empty="no alert is firing"
        columns=${[
          { label: "alert", render: (a) => pick(a, "name") ?? pick(a, "alert") ?? "?" },
          {
            label: "severity",
            render: (a) => html`<span class=${`badge ${a.severity ?? ""}`}>${a.severity ?? "—"}</span>`,
          },
          { label: "since", render: (a) => time(pick(a, "since") ?? pick(a, "at")) },
          { label: "message", render: (a) => a.message ?? a.summary ?? "" },
        ]} />`}
    <//>
    <h3 class="muted">Live breaches and violations</h3>
    <${Table} id="live-alerts" rows=${live} empty="none since this page opened"
      columns=${[
        { label: "time", render: (e) => time(e.time) },
        { label: "source", render: (e) => e.source },
        { label: "what", render: (e) => e.data?.message ?? e.data?.check ?? e.type },
      ]} />
  </div>`;
}

export function Overview() {
  const status = useJson("/status", 5_000);
  const positions = useTool("exchange", "get_positions", {}, { every: 3_000 });
  const open = positions.status === "ok" ? positions.data.positions.filter((p) => p.amount !== 0) : [];
  return html`<div class="grid">
    <${Card} title="Equity" wide><${Equity} /><//>
    <${Card} title="Today's PnL"><${TodayPnl} positions=${positions.data?.positions} /><//>
    <${Card} title="Firing alerts"><${Alerts} /><//>
    <${Card} title="Open positions" wide>
      <${Show} state=${positions} what="exchange.get_positions">
        ${() => html`<${Table} id="open-positions" rows=${open} empty="no open position"
          columns=${[
            { label: "venue", key: "venue" },
            { label: "symbol", key: "symbol" },
            { label: "amount", align: "right", render: (p) => num(p.amount) },
            { label: "avg price", align: "right", render: (p) => num(pick(p, "averagePrice")) },
            {
              label: "realized PnL",
              align: "right",
              render: (p) =>
                html`<span class=${signClass(pick(p, "realizedPnl"))}>${money(pick(p, "realizedPnl"))}</span>`,
            },
            { label: "updated", render: (p) => time(p.timestamp) },
          ]} />`}
      <//>
    <//>
    <${Card} title="Agents and health" wide>
      ${status.status === "ok" ? html`<${AgentsTable} status=${status.data} />` : html`<${Status} state=${status} what="/status" />`}
    <//>
  </div>`;
}
