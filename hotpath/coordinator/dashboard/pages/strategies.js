import { call, catalog, pick } from "../lib/api.js";
import {
  Card,
  Confirm,
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
  useCatalog,
  useEvents,
  useTool,
} from "../lib/ui.js";
import { useState } from "../vendor/preact-hooks.mjs";
import { firstArray } from "./common.js";

const TOOLS = [
  "list_strategies",
  "create_strategy",
  "start_strategy",
  "stop_strategy",
  "pause_strategy",
  "resume_strategy",
  "update_strategy",
  "get_strategy",
  "strategy_profit",
  "get_signals",
];

export const strategyId = (s) => pick(s, "id") ?? pick(s, "strategyId") ?? s.name;

/** The arguments naming one strategy: every strategy tool takes it as `id`. */
const idArgs = (id) => ({ id });

const statusOf = (s) => pick(s, "status") ?? pick(s, "state") ?? "—";

function Actions({ s, onDone }) {
  const [asking, setAsking] = useState();
  const [error, setError] = useState();
  const id = strategyId(s);
  const status = statusOf(s);
  const act = async (tool) => {
    setAsking(undefined);
    const r = await call("strategy", tool, idArgs(id));
    setError(r.ok ? undefined : r.error.message);
    onDone();
  };
  const button = (tool, text, cls = "secondary") =>
    catalog.has("strategy", tool)
      ? html`<button class=${cls} data-action=${tool} data-strategy=${id} onClick=${() =>
          tool === "stop_strategy" ? setAsking(tool) : act(tool)}>${text}</button>`
      : null;
  return html`<span class="row">
    ${status === "running" ? button("pause_strategy", "Pause") : null}
    ${status === "paused" ? button("resume_strategy", "Resume") : null}
    ${status === "running" || status === "paused" ? button("stop_strategy", "Stop", "danger") : button("start_strategy", "Start", "")}
    ${error ? html`<span class="error">${error}</span>` : null}
    ${
      asking
        ? html`<${Confirm} title=${`Stop ${id}?`} text="The strategy stops deciding; its open orders and positions stay as they are."
          confirmLabel="Stop" danger onConfirm=${() => act(asking)} onCancel=${() => setAsking(undefined)} />`
        : null
    }
  </span>`;
}

/** One strategy (get_strategy): its params (editable through update_strategy), profit, decisions. */
function Details({ id }) {
  const detail = useTool("strategy", "get_strategy", { id, decisions: 50 }, { every: 5_000 });
  const [draft, setDraft] = useState();
  const [saved, setSaved] = useState();
  const save = async () => {
    let params;
    try {
      params = JSON.parse(draft);
    } catch {
      setSaved({ ok: false, error: { message: "the parameters are not valid JSON" } });
      return;
    }
    const r = await call("strategy", "update_strategy", { id, params });
    setSaved(r);
    void detail.reload();
  };
  const paramsOf = (d) => {
    const { kind: _kind, ...params } = d.config?.strategy ?? {};
    return params;
  };
  return html`<${Show} state=${detail} what="strategy.get_strategy">
    ${(d) => html`<div class="split" id="strategy-details" data-status=${d.status}>
      <div>
        <h3>Parameters (${d.kind})</h3>
        <textarea name="params" onInput=${(e) => setDraft(e.currentTarget.value)}>${draft ?? JSON.stringify(paramsOf(d), null, 2)}</textarea>
        <button onClick=${save} disabled=${draft === undefined}>Save parameters</button>
        ${saved ? (saved.ok ? html`<span class="ok">saved</span>` : html`<span class="error">${saved.error.message}</span>`) : null}
        <h3>Profit</h3>
        <${KeyValues} items=${[
          ["realized PnL", money(d.profit.realized_pnl), signClass(d.profit.realized_pnl)],
          ["unrealized PnL", money(d.profit.unrealized_pnl), signClass(d.profit.unrealized_pnl)],
          ["fees", money(d.profit.fees)],
          ["trades", String(d.profit.trades)],
          ["win rate", pct(d.profit.win_rate)],
          ["max drawdown", pct(d.profit.max_drawdown)],
          ["equity", money(d.profit.equity)],
          ["capital", money(d.profit.capital)],
        ]} />
        <h3>Positions</h3>
        <${Table} id="strategy-positions" rows=${d.positions.map((p) => ({ ...p, id: p.symbol }))} empty="no position"
          columns=${[
            { label: "symbol", key: "symbol" },
            { label: "amount", align: "right", render: (p) => num(p.amount) },
            { label: "avg price", align: "right", render: (p) => num(p.average_price) },
            {
              label: "unrealized",
              align: "right",
              render: (p) =>
                html`<span class=${signClass(p.unrealized_pnl)}>${money(p.unrealized_pnl)}</span>`,
            },
            {
              label: "protected",
              render: (p) =>
                p.protected ? p.protections.join(", ") || "yes" : html`<span class="neg">no</span>`,
            },
          ]} />
      </div>
      <div>
        <h3>Decisions and their reasons</h3>
        <${Table} id="strategy-decisions" rows=${[...d.decisions].reverse().map((x, i) => ({ ...x, id: `${x.ts}-${i}` }))}
          empty="no decision yet" columns=${[
            { label: "time", render: (x) => time(x.ts) },
            { label: "symbol", key: "symbol" },
            { label: "reason", key: "reason" },
            { label: "order", render: (x) => (x.side ? `${x.side} ${num(x.amount)}` : "—") },
            { label: "target", align: "right", render: (x) => num(x.target, 3) },
            { label: "detail", render: (x) => x.detail ?? "" },
          ]} />
      </div>
    </div>`}
  <//>`;
}

const newId = () => `ui-${Date.now().toString(36)}`;

function Create({ onDone, kinds }) {
  const [id, setId] = useState(newId);
  const [kind, setKind] = useState("ma_crossover");
  const [symbols, setSymbols] = useState("BTC/USDT");
  const [capital, setCapital] = useState("1000");
  const [params, setParams] = useState('{"fast": 10, "slow": 30}');
  const [result, setResult] = useState();
  const submit = async (e) => {
    e.preventDefault();
    let p;
    try {
      p = JSON.parse(params);
    } catch {
      setResult({ ok: false, error: { message: "the parameters are not valid JSON" } });
      return;
    }
    const r = await call("strategy", "create_strategy", {
      id,
      kind,
      params: p,
      symbols: symbols
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x !== ""),
      capital: Number(capital),
      start: false,
    });
    setResult(r);
    if (r.ok) setId(newId());
    onDone();
  };
  return html`<form class="inline" id="create-strategy" onSubmit=${submit}>
    <label>id <input name="id" value=${id} onInput=${(e) => setId(e.currentTarget.value)} /></label>
    <label>kind <select name="kind" value=${kind} onChange=${(e) => setKind(e.currentTarget.value)}>
      ${kinds.map((k) => html`<option value=${k}>${k}</option>`)}</select></label>
    <label>symbols <input name="symbols" value=${symbols} onInput=${(e) => setSymbols(e.currentTarget.value)} /></label>
    <label>capital <input name="capital" type="number" min="1" value=${capital} onInput=${(e) => setCapital(e.currentTarget.value)} /></label>
    <label style="flex:1">params (JSON) <input name="params" value=${params} onInput=${(e) => setParams(e.currentTarget.value)} /></label>
    <button type="submit">Create (stopped)</button>
    ${result ? (result.ok ? html`<span class="ok">created ${result.result.id}</span>` : html`<span class="error">${result.error.message}</span>`) : null}
  </form>`;
}

/** What exists while the strategy agent is not there: the model's live signals. */
function ModelSignals() {
  const signals = useEvents("events.signal.>", 30);
  return html`<${Table} id="model-signals" rows=${signals.map((e) => ({ id: e.id, ...e.data }))}
    empty="waiting for the next candle…" columns=${[
      { label: "time", render: (s) => time(s.ts) },
      { label: "symbol", key: "symbol" },
      {
        label: "direction",
        render: (s) =>
          html`<span class=${s.direction === "long" ? "pos" : s.direction === "short" ? "neg" : ""}>${s.direction}</span>`,
      },
      { label: "probability", align: "right", render: (s) => num(s.probability, 3) },
      { label: "regime", render: (s) => s.regime ?? "—" },
      { label: "model", render: (s) => pick(s, "model_version") },
    ]} />`;
}

export function Strategies() {
  useCatalog();
  const list = useTool("strategy", "list_strategies", {}, { every: 3_000 });
  const profit = useTool("strategy", "strategy_profit", {}, { every: 3_000 });
  const profitOf = new Map(
    profit.status === "ok"
      ? profit.data.strategies.map((p) => [p.id, p.realized_pnl + p.unrealized_pnl])
      : [],
  );
  const [selected, setSelected] = useState();
  const events = useEvents("events.strategy.>", 30);
  const missingTools = TOOLS.filter((t) => !catalog.has("strategy", t));
  const rows =
    list.status === "ok"
      ? firstArray(list.data, ["strategies"]).map((s) => ({ ...s, id: strategyId(s) }))
      : [];
  return html`<div class="grid">
    <${Card} title="Strategies" wide>
      ${
        list.status === "missing"
          ? html`<p class="missing" id="strategies-missing">Not there yet: ${list.error.message}. Its tools
            (${TOOLS.join(", ")}) will be listed, started, stopped and paused here once it runs.</p>`
          : html`<${Status} state=${list} what="strategy.list_strategies" />`
      }
      ${
        list.status === "ok"
          ? html`${missingTools.length > 0 ? html`<p class="missing">Not there yet: strategy.${missingTools.join(", strategy.")}.</p>` : null}
          <${Table} id="strategies" rows=${rows} empty="no strategy yet: create one below" columns=${[
            {
              label: "id",
              render: (s) =>
                html`<a href="#/strategies" onClick=${(e) => {
                  e.preventDefault();
                  setSelected(s.id);
                }}>${s.id}</a>`,
            },
            { label: "kind", render: (s) => pick(s, "kind") ?? pick(pick(s, "spec"), "kind") ?? "—" },
            { label: "symbols", render: (s) => (s.symbols ?? []).join(", ") },
            { label: "account", render: (s) => `${s.venue}/${s.account}` },
            { label: "fills", align: "right", render: (s) => s.fills },
            {
              label: "status",
              render: (s) =>
                html`<span class=${`badge ${statusOf(s)}`} data-status=${statusOf(s)}>${statusOf(s)}</span>`,
            },
            {
              label: "PnL (realized + unrealized)",
              align: "right",
              render: (s) => {
                const v = profitOf.get(s.id);
                return typeof v === "number" ? html`<span class=${signClass(v)}>${money(v)}</span>` : "—";
              },
            },
            { label: "", render: (s) => html`<${Actions} s=${s} onDone=${list.reload} />` },
          ]} />
          ${catalog.has("strategy", "create_strategy") ? html`<${Create} onDone=${list.reload} kinds=${list.data.kinds} />` : null}`
          : null
      }
    <//>
    ${selected ? html`<${Card} title=${`Strategy ${selected}`} wide><${Details} id=${selected} /><//>` : null}
    <${Card} title="Strategy events (live)">
      <${Table} id="strategy-events" rows=${events} empty="none since this page opened" columns=${[
        { label: "time", render: (e) => time(e.time) },
        { label: "event", render: (e) => e.type },
        { label: "strategy", render: (e) => strategyId(e.data ?? {}) ?? "—" },
        { label: "reason", render: (e) => pick(e.data, "reason") ?? "" },
      ]} />
    <//>
    <${Card} title="Model signals (MLEngineer, live)"><${ModelSignals} /><//>
  </div>`;
}
