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
import { equitySamples } from "./common.js";
import { AlertsTable } from "./infra.js";

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
  const ledger = useTool("ledger", "balance_history", { interval: "1h" }, { every: 10_000 });
  const risk = useTool("risk", "risk_metrics", {}, { every: 2_000 });
  useEffect(() => {
    if (risk.status === "ok" && Number.isFinite(risk.data.equity)) {
      equitySamples.push({ time: Date.now(), value: risk.data.equity });
      if (equitySamples.length > 5_000) equitySamples.shift();
    }
  }, [risk.data]);
  return html`<div>
    <${Show} state=${risk} what="risk.risk_metrics">
      ${(r) =>
        html`<${KeyValues} items=${[
          ["equity (RiskQuant)", money(r.equity)],
          ["peak", money(r.peak_equity)],
          ["drawdown", pct(r.drawdown)],
        ]} />`}
    <//>
    <h3 class="muted">Account equity, marked by RiskQuant every 2 s since this dashboard opened</h3>
    <${LineChart} id="equity-chart" area points=${[...equitySamples]} height=${200} />
    <h3 class="muted">Ledger equity per hour (starting balance + realised PnL after fees; the last point adds the unrealised PnL)</h3>
    <${Show} state=${ledger} what="ledger.balance_history">
      ${(h) =>
        h.points.length === 0
          ? html`<p class="muted" id="ledger-equity-empty">no closed trade in the ledger yet (starting balance ${money(h.starting_balance)})</p>`
          : html`<${LineChart} id="ledger-equity-chart" area height=${160}
              points=${h.points.map((p) => ({ time: p.at, value: p.equity }))} />`}
    <//>
  </div>`;
}

/** The ledger's realised and unrealised PnL after fees (ledger.profit), all strategies and symbols. */
function LedgerProfit() {
  const profit = useTool("ledger", "profit", {}, { every: 5_000 });
  return html`<${Show} state=${profit} what="ledger.profit">
    ${(p) => html`<div id="ledger-profit">
      <${KeyValues} items=${[
        ["realized PnL", money(p.total.realized_pnl), signClass(p.total.realized_pnl)],
        ["unrealized PnL", money(p.total.unrealized_pnl), signClass(p.total.unrealized_pnl)],
        ["total PnL", money(p.total.total_pnl), signClass(p.total.total_pnl)],
        ["fees paid", money(p.total.fees_paid)],
        ["closed trades", String(p.total.closed_trades)],
        ["open trades", String(p.total.open_trades)],
        ["win rate", pct(p.total.win_rate)],
        ["profit factor", num(p.total.profit_factor, 2)],
      ]} />
      <${Table} id="ledger-by-strategy" rows=${p.by_strategy.map((s) => ({ ...s, id: s.strategy_id ?? "(none)" }))}
        empty="no trade in the ledger yet" columns=${[
          { label: "strategy", render: (s) => s.strategy_id ?? html`<span class="muted">manual</span>` },
          { label: "closed", align: "right", key: "closed_trades" },
          {
            label: "realized",
            align: "right",
            render: (s) => html`<span class=${signClass(s.realized_pnl)}>${money(s.realized_pnl)}</span>`,
          },
          {
            label: "unrealized",
            align: "right",
            render: (s) => html`<span class=${signClass(s.unrealized_pnl)}>${money(s.unrealized_pnl)}</span>`,
          },
        ]} />
    </div>`}
  <//>`;
}

/** The newest period of ledger.period_pnl (UTC day of the fills' time). */
function TodayPnl() {
  const day = useTool("ledger", "period_pnl", { period: "day", limit: 1 }, { every: 10_000 });
  return html`<${Show} state=${day} what="ledger.period_pnl">
    ${(d) => {
      const row = d.rows[0];
      if (row === undefined) return html`<p class="muted" id="period-pnl-empty">no closed trade yet</p>`;
      return html`<div id="period-pnl"><${KeyValues} items=${[
        ["day (UTC)", row.date],
        ["realized PnL", money(row.realized_pnl), signClass(row.realized_pnl)],
        ["fees", money(row.fees_quote)],
        ["trades closed", String(row.trades)],
        ["won", String(row.wins)],
      ]} /></div>`;
    }}
  <//>`;
}

function Alerts() {
  const alerts = useTool("infra", "get_alerts", {}, { every: 5_000 });
  const breaches = useEvents("events.risk.breach", 20);
  const violations = useEvents("events.compliance.violation", 20);
  const live = [...breaches, ...violations].sort((a, b) => (a.time < b.time ? 1 : -1));
  return html`<div>
    <${Show} state=${alerts} what="infra.get_alerts">
      ${(r) => html`<${AlertsTable} id="infra-alerts" alerts=${r.alerts} />`}
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
    <${Card} title="Profit (ledger)"><${LedgerProfit} /><//>
    <${Card} title="Latest day's PnL (ledger)"><${TodayPnl} /><//>
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
