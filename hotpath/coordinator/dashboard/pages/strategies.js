import { call, catalog, pick } from "../lib/api.js";
import {
  Card,
  Confirm,
  html,
  money,
  num,
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

/** The arguments naming one strategy, under the name the tool's input schema uses for it. */
function idArgs(tool, id) {
  const props = catalog.inputSchema("strategy", tool)?.properties ?? {};
  const name = ["id", "strategy_id", "strategyId", "name"].find((k) => k in props) ?? "id";
  return { [name]: id };
}

const statusOf = (s) => pick(s, "status") ?? pick(s, "state") ?? "—";

function Actions({ s, onDone }) {
  const [asking, setAsking] = useState();
  const [error, setError] = useState();
  const id = strategyId(s);
  const status = statusOf(s);
  const act = async (tool) => {
    setAsking(undefined);
    const r = await call("strategy", tool, idArgs(tool, id));
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

function Details({ id }) {
  const detail = useTool("strategy", "get_strategy", idArgs("get_strategy", id), { every: 5_000 });
  const profit = useTool("strategy", "strategy_profit", idArgs("strategy_profit", id), { every: 5_000 });
  const signals = useTool(
    "strategy",
    "get_signals",
    { ...idArgs("get_signals", id), limit: 50 },
    { every: 3_000 },
  );
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
    const r = await call("strategy", "update_strategy", { ...idArgs("update_strategy", id), params });
    setSaved(r);
    void detail.reload();
  };
  return html`<div class="split" id="strategy-details">
    <div>
      <h3>Parameters</h3>
      <${Show} state=${detail} what="strategy.get_strategy">
        ${(d) => html`<div>
          <textarea name="params" onInput=${(e) => setDraft(e.currentTarget.value)}>${draft ?? JSON.stringify(pick(d, "params") ?? d, null, 2)}</textarea>
          ${catalog.has("strategy", "update_strategy") ? html`<button onClick=${save} disabled=${draft === undefined}>Save parameters</button>` : null}
          ${saved ? (saved.ok ? html`<span class="ok">saved</span>` : html`<span class="error">${saved.error.message}</span>`) : null}
        </div>`}
      <//>
      <h3>Profit</h3>
      <${Show} state=${profit} what="strategy.strategy_profit">
        ${(p) => html`<pre>${JSON.stringify(p, null, 2)}</pre>`}
      <//>
    </div>
    <div>
      <h3>Decisions and their reasons</h3>
      <${Show} state=${signals} what="strategy.get_signals">
        ${(
          r,
        ) => html`<${Table} id="strategy-signals" rows=${firstArray(r, ["signals", "decisions"])} empty="no decision yet"
          columns=${[
            { label: "time", render: (d) => time(pick(d, "ts") ?? pick(d, "time") ?? pick(d, "at")) },
            { label: "symbol", render: (d) => d.symbol ?? "—" },
            {
              label: "action",
              render: (d) => pick(d, "action") ?? pick(d, "side") ?? pick(d, "direction") ?? "—",
            },
            {
              label: "reason",
              render: (d) => pick(d, "reason") ?? (pick(d, "reasons") ?? []).join?.("; ") ?? "",
            },
          ]} />`}
      <//>
    </div>
  </div>`;
}

function Create({ onDone }) {
  const [kind, setKind] = useState("ma_crossover");
  const [symbol, setSymbol] = useState("BTC/USDT");
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
    const r = await call("strategy", "create_strategy", { kind, symbol, params: p });
    setResult(r);
    onDone();
  };
  return html`<form class="inline" id="create-strategy" onSubmit=${submit}>
    <label>kind <select name="kind" value=${kind} onChange=${(e) => setKind(e.currentTarget.value)}>
      ${["ma_crossover", "bollinger", "momentum", "ml_signal"].map((k) => html`<option value=${k}>${k}</option>`)}</select></label>
    <label>symbol <input name="symbol" value=${symbol} onInput=${(e) => setSymbol(e.currentTarget.value)} /></label>
    <label style="flex:1">params (JSON) <input name="params" value=${params} onInput=${(e) => setParams(e.currentTarget.value)} /></label>
    <button type="submit">Create</button>
    ${result ? (result.ok ? html`<span class="ok">created</span>` : html`<span class="error">${result.error.message}</span>`) : null}
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
      { label: "model", render: (s) => pick(s, "modelVersion") },
    ]} />`;
}

export function Strategies() {
  useCatalog();
  const list = useTool("strategy", "list_strategies", {}, { every: 3_000 });
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
            { label: "symbol", render: (s) => s.symbol ?? "—" },
            {
              label: "status",
              render: (s) =>
                html`<span class=${`badge ${statusOf(s)}`} data-status=${statusOf(s)}>${statusOf(s)}</span>`,
            },
            {
              label: "PnL",
              align: "right",
              render: (s) => {
                const v = pick(s, "pnl") ?? pick(s, "profit");
                return typeof v === "number" ? html`<span class=${signClass(v)}>${money(v)}</span>` : "—";
              },
            },
            { label: "", render: (s) => html`<${Actions} s=${s} onDone=${list.reload} />` },
          ]} />
          ${catalog.has("strategy", "create_strategy") ? html`<${Create} onDone=${list.reload} />` : null}`
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
