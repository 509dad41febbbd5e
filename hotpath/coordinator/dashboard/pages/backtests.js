import { call, catalog, pick } from "../lib/api.js";
import { LineChart } from "../lib/charts.js";
import { Card, html, KeyValues, money, num, pct, Table, time, useCatalog } from "../lib/ui.js";
import { useEffect, useState } from "../vendor/preact-hooks.mjs";

/** The strategies the backtester runs, with their parameters (from its input schema when listed). */
const STRATEGIES = {
  ma_crossover: { fast: 10, slow: 30 },
  bollinger: { period: 20, std_devs: 2 },
  momentum: { lookback: 20, threshold: 0 },
};

/** Drawdown below the running peak, as a negative fraction, for every point of an equity curve. */
export function drawdownOf(points) {
  let peak = Number.NEGATIVE_INFINITY;
  return points.map((p) => {
    peak = Math.max(peak, p.value);
    return { time: p.time, value: peak > 0 ? p.value / peak - 1 : 0 };
  });
}

function Histogram({ values, id }) {
  if (values.length === 0) return html`<p class="muted">no closed trade</p>`;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const bins = 20;
  const width = (hi - lo) / bins || 1;
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))] += 1;
  const max = Math.max(...counts);
  return html`<div>
    <div class="bars" id=${id}>${counts.map(
      (c, i) =>
        html`<span class=${lo + (i + 0.5) * width >= 0 ? "pos" : "neg"} title=${`${pct(lo + i * width)} … ${pct(lo + (i + 1) * width)}: ${c}`}
          style=${`height:${(c / max) * 100}%`}></span>`,
    )}</div>
    <p class="muted">trade returns from ${pct(lo)} to ${pct(hi)}</p>
  </div>`;
}

function Metrics({ m }) {
  return html`<${KeyValues} items=${[
    ["total return", pct(pick(m, "total_return")), pick(m, "total_return") >= 0 ? "pos" : "neg"],
    ["final equity", money(pick(m, "final_equity"))],
    ["CAGR", pct(m.cagr)],
    ["Sharpe", num(m.sharpe, 2)],
    ["Sortino", num(m.sortino, 2)],
    ["max drawdown", pct(pick(m, "max_drawdown"))],
    ["trades", m.trades],
    ["win rate", pct(pick(m, "win_rate"))],
    ["profit factor", num(pick(m, "profit_factor"), 2)],
    ["exposure", pct(m.exposure)],
    ["fees", money(pick(m, "total_fees"))],
  ]} />`;
}

function Result({ r }) {
  const equity = (pick(r, "equity_curve") ?? []).map((p) => ({ time: p.ts, value: p.equity }));
  const trades = r.trades ?? [];
  return html`<div class="grid" id="backtest-result">
    <${Card} title=${`Metrics — ${r.strategy} on ${r.symbol} ${r.timeframe}`} wide><${Metrics} m=${r.metrics} /><//>
    <${Card} title="Equity curve" wide><${LineChart} id="backtest-equity" area points=${equity} /><//>
    <${Card} title="Drawdown"><${LineChart} id="backtest-drawdown" color="#f85149" percent
      points=${drawdownOf(equity).map((p) => ({ ...p, value: p.value * 100 }))} height=${200} /><//>
    <${Card} title="Profit distribution"><${Histogram} id="profit-distribution" values=${trades.map((t) => t.return)} /><//>
    <${Card} title=${`Trades (${trades.length}${pick(r, "omitted_trades") ? ` of ${trades.length + pick(r, "omitted_trades")}` : ""})`} wide>
      <${Table} id="backtest-trades" rows=${trades} columns=${[
        { label: "direction", key: "direction" },
        { label: "entry", render: (t) => time(pick(t, "entry_ts")) },
        { label: "exit", render: (t) => time(pick(t, "exit_ts")) },
        { label: "entry price", align: "right", render: (t) => num(pick(t, "entry_price")) },
        { label: "exit price", align: "right", render: (t) => num(pick(t, "exit_price")) },
        { label: "amount", align: "right", render: (t) => num(t.amount) },
        {
          label: "PnL",
          align: "right",
          render: (t) => html`<span class=${t.pnl >= 0 ? "pos" : "neg"}>${money(t.pnl)}</span>`,
        },
        { label: "return", align: "right", render: (t) => pct(t.return) },
      ]} />
    <//>
  </div>`;
}

function WalkForward({ w }) {
  return html`<div id="walk-forward-result">
    <${KeyValues} items=${[
      ["objective", w.objective],
      ["combinations", w.combinations],
      ["mean in-sample", num(pick(w, "mean_in_sample"), 3)],
      ["mean out-of-sample", num(pick(w, "mean_out_of_sample"), 3)],
      ["efficiency", num(w.efficiency, 2)],
      ["out-of-sample return", pct(pick(w, "out_of_sample_return"))],
    ]} />
    <${Table} id="walk-forward-windows" rows=${w.windows.map((x) => ({ id: x.index, ...x }))} columns=${[
      { label: "window", key: "index" },
      {
        label: "best params",
        render: (x) =>
          Object.entries(x.best ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(" "),
      },
      { label: "in-sample score", align: "right", render: (x) => num(pick(x, "in_sample_score"), 3) },
      { label: "out-of-sample score", align: "right", render: (x) => num(pick(x, "out_of_sample_score"), 3) },
      {
        label: "IS return",
        align: "right",
        render: (x) => pct(pick(pick(x, "in_sample_metrics"), "total_return")),
      },
      {
        label: "OOS return",
        align: "right",
        render: (x) => pct(pick(pick(x, "out_of_sample_metrics"), "total_return")),
      },
    ]} />
  </div>`;
}

function Elapsed({ since }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 200);
    return () => clearInterval(t);
  }, []);
  return html`<span class="muted" id="backtest-progress">running… ${((now - since) / 1000).toFixed(1)} s</span>`;
}

export function Backtests() {
  useCatalog();
  const [kind, setKind] = useState("ma_crossover");
  const [params, setParams] = useState(STRATEGIES.ma_crossover);
  const [form, setForm] = useState({ bars: 5000, seed: 1, initialCash: 10000, taker: 0.001, fraction: 1 });
  const [run, setRun] = useState();
  const [wf, setWf] = useState();
  const absent = catalog.absence("backtesting", "run_backtest");
  const set = (k) => (e) => setForm({ ...form, [k]: Number(e.currentTarget.value) });
  const spec = () => ({
    strategy: { kind, ...params },
    initial_cash: form.initialCash,
    fees: { maker: form.taker, taker: form.taker },
    sizing: { kind: "fixed", fraction: form.fraction },
    data: { source: "simulated", bars: form.bars, params: { seed: form.seed } },
  });
  const submit = async (e) => {
    e.preventDefault();
    setRun({ since: Date.now() });
    const r = await call("backtesting", "run_backtest", spec());
    setRun(r);
  };
  const walkForward = async () => {
    setWf({ since: Date.now() });
    const grid = kind === "ma_crossover" ? { fast: [5, 10, 20], slow: [30, 60] } : {};
    const bars = form.bars;
    const r = await call("backtesting", "run_walk_forward", {
      ...spec(),
      grid,
      in_sample_bars: Math.floor(bars / 4),
      out_of_sample_bars: Math.floor(bars / 8),
    });
    setWf(r);
  };
  if (absent) return html`<p class="missing">Not there yet: ${absent}.</p>`;
  return html`<div>
    <${Card} title="Run a backtest" wide>
      <form class="inline" id="backtest-form" onSubmit=${submit}>
        <label>strategy <select name="strategy" value=${kind} onChange=${(e) => {
          setKind(e.currentTarget.value);
          setParams(STRATEGIES[e.currentTarget.value]);
        }}>${Object.keys(STRATEGIES).map((k) => html`<option value=${k}>${k}</option>`)}</select></label>
        ${Object.entries(params).map(
          ([k, v]) => html`<label>${k} <input name=${k} size="6" value=${v}
            onInput=${(e) => setParams({ ...params, [k]: Number(e.currentTarget.value) })} /></label>`,
        )}
        <label>bars (1m, simulated) <input name="bars" size="7" value=${form.bars} onInput=${set("bars")} /></label>
        <label>seed <input name="seed" size="4" value=${form.seed} onInput=${set("seed")} /></label>
        <label>initial cash <input name="initialCash" size="8" value=${form.initialCash} onInput=${set("initialCash")} /></label>
        <label>fee <input name="fee" size="6" value=${form.taker} onInput=${set("taker")} /></label>
        <label>position fraction <input name="fraction" size="4" value=${form.fraction} onInput=${set("fraction")} /></label>
        <button type="submit" disabled=${run?.since !== undefined}>Run backtest</button>
        <button type="button" class="secondary" id="walk-forward-button" disabled=${wf?.since !== undefined} onClick=${walkForward}>Walk-forward</button>
        ${run?.since ? html`<${Elapsed} since=${run.since} />` : null}
        ${wf?.since ? html`<${Elapsed} since=${wf.since} />` : null}
      </form>
      ${run && run.ok === false ? html`<p class="error">${run.error.message}</p>` : null}
    <//>
    ${
      wf && wf.ok !== undefined
        ? html`<${Card} title="Walk-forward: in-sample vs out-of-sample" wide>
          ${wf.ok ? html`<${WalkForward} w=${wf.result} />` : html`<p class="error">${wf.error.message}</p>`}
        <//>`
        : null
    }
    ${run?.ok ? html`<${Result} r=${run.result} />` : null}
  </div>`;
}
