import { call, pick } from "../lib/api.js";
import { CandleChart } from "../lib/charts.js";
import { onEvent } from "../lib/live.js";
import { Card, html, money, num, Show, Status, signClass, Table, time, useLive, useTool } from "../lib/ui.js";
import { useEffect, useState } from "../vendor/preact-hooks.mjs";
import { firstArray } from "./common.js";

const token = (symbol) => symbol.replaceAll("/", "-").replaceAll(":", "_");

/** Live candles per symbol, collected from the moment the dashboard opens (whatever page is shown). */
const liveCandles = new Map();
onEvent("market.*.candle.>", (e) => {
  const k = e.data;
  if (k?.venue !== "paper" || typeof k.symbol !== "string") return;
  liveCandles.set(k.symbol, [...(liveCandles.get(k.symbol) ?? []), k].slice(-2_000));
});

function Candles({ symbol, fills }) {
  const history = useTool("strategy", "get_candles", { symbol, limit: 500 });
  const [candles, setCandles] = useState(() => liveCandles.get(symbol) ?? []);
  useEffect(() => setCandles(liveCandles.get(symbol) ?? []), [symbol]);
  useEffect(() => {
    if (history.status !== "ok") return;
    const rows = firstArray(history.data, ["candles"]).filter((k) => Number.isFinite(k.ts));
    const merged = [...rows, ...(liveCandles.get(symbol) ?? [])];
    liveCandles.set(symbol, merged);
    setCandles(merged);
  }, [history.data]);
  useLive(`market.paper.candle.${token(symbol)}`, () => setCandles(liveCandles.get(symbol) ?? []));
  const markers = fills.map((f) => ({ time: f.timestamp, side: f.side, text: `${f.side} ${num(f.amount)}` }));
  return html`<div>
    ${
      history.status === "missing"
        ? html`<p class="missing">Not there yet: ${history.error.message} (candle history). Drawing the paper market's
          live candles since the dashboard opened.</p>`
        : html`<${Status} state=${history} what="strategy.get_candles" />`
    }
    <${CandleChart} id="candles-chart" candles=${candles} markers=${markers} />
  </div>`;
}

function Book({ symbol }) {
  const snapshot = useTool("exchange", "get_order_book", { symbol, depth: 10 });
  const [book, setBook] = useState();
  useEffect(() => setBook(undefined), [symbol]);
  useLive(`market.paper.book.${token(symbol)}`, (e) => setBook(e.data));
  const b = book ?? (snapshot.status === "ok" ? snapshot.data : undefined);
  if (b === undefined) return html`<${Status} state=${snapshot} what="exchange.get_order_book" />`;
  const side = (rows, cls) =>
    html`<${Table} rows=${rows.slice(0, 10).map(([price, amount], i) => ({ id: i, price, amount }))}
      columns=${[
        { label: "price", align: "right", render: (r) => html`<span class=${cls}>${num(r.price)}</span>` },
        { label: "amount", align: "right", render: (r) => num(r.amount) },
      ]} />`;
  return html`<div class="book" id="order-book" data-ts=${b.timestamp}>
    <div><h3 class="muted">bids</h3>${side(b.bids, "pos")}</div>
    <div><h3 class="muted">asks</h3>${side(b.asks, "neg")}</div>
  </div>`;
}

function OrderTicket({ symbol, onDone }) {
  const [side, setSide] = useState("buy");
  const [amount, setAmount] = useState("0.001");
  const [result, setResult] = useState();
  const submit = async (e) => {
    e.preventDefault();
    setResult({ pending: true });
    const r = await call("exchange", "submit_order", {
      symbol,
      side,
      type: "market",
      amount: Number(amount),
    });
    setResult(r);
    onDone();
  };
  return html`<form class="inline" id="order-ticket" onSubmit=${submit}>
    <label>side <select name="side" value=${side} onChange=${(e) => setSide(e.currentTarget.value)}>
      <option value="buy">buy</option><option value="sell">sell</option></select></label>
    <label>amount <input name="amount" size="8" value=${amount} onInput=${(e) => setAmount(e.currentTarget.value)} /></label>
    <button type="submit">Market ${side}</button>
    ${result?.pending ? html`<span class="muted">sending…</span>` : null}
    ${result?.ok ? html`<span class="ok" id="order-result">${result.result.order.status}: ${num(result.result.order.filled)} @ ${num(pick(result.result.order, "averagePrice"))}</span>` : null}
    ${result && !result.pending && !result.ok ? html`<span class="error">${result.error.message}</span>` : null}
  </form>`;
}

export function Trading() {
  const [symbol, setSymbol] = useState("BTC/USDT");
  const [seen, setSeen] = useState(["BTC/USDT"]);
  useLive("market.paper.ticker.>", (e) => {
    const s = e.data?.symbol;
    if (typeof s === "string" && !seen.includes(s)) setSeen([...seen, s].sort());
  });
  const orders = useTool("exchange", "list_orders", { limit: 100 }, { every: 3_000 });
  const trades = useTool("ledger", "get_trades", { limit: 100 }, { every: 5_000 });
  const positions = useTool("exchange", "get_positions", {}, { every: 3_000 });
  const balances = useTool("exchange", "get_balances", {}, { every: 3_000 });
  const [liveFills, setLiveFills] = useState([]);
  useLive("events.trade.fill", (e) => setLiveFills((l) => [e.data, ...l].slice(0, 200)));
  const refresh = () => {
    void orders.reload();
    void positions.reload();
    void balances.reload();
  };
  const byId = new Map();
  for (const f of liveFills) byId.set(f.id ?? `${f.timestamp}-${f.side}`, f);
  const fills = [...byId.values()].sort((a, b) => (b.timestamp ?? 0) - (a.timestamp ?? 0));
  const balanceRows =
    balances.status === "ok"
      ? Object.entries(balances.data.balances).map(([ccy, b]) => ({ id: ccy, ccy, ...b }))
      : [];
  return html`<div class="grid">
    <${Card} title=${`Candles — ${symbol}`} wide actions=${html`<label class="row">symbol
      <select name="symbol" value=${symbol} onChange=${(e) => setSymbol(e.currentTarget.value)}>
        ${seen.map((s) => html`<option value=${s}>${s}</option>`)}</select></label>`}>
      <${Candles} symbol=${symbol} fills=${fills.filter((f) => f.symbol === symbol)} />
      <${OrderTicket} symbol=${symbol} onDone=${refresh} />
    <//>
    <${Card} title="Order book"><${Book} symbol=${symbol} /><//>
    <${Card} title="Balances">
      <${Show} state=${balances} what="exchange.get_balances">
        ${() =>
          html`<${Table} id="balances" rows=${balanceRows} columns=${[
            { label: "currency", key: "ccy" },
            { label: "free", align: "right", render: (r) => num(r.free) },
            { label: "used", align: "right", render: (r) => num(r.used) },
            { label: "total", align: "right", render: (r) => num(r.total) },
          ]} />`}
      <//>
    <//>
    <${Card} title="Positions">
      <${Show} state=${positions} what="exchange.get_positions">
        ${(r) =>
          html`<${Table} id="positions" rows=${r.positions} empty="no position" columns=${[
            { label: "symbol", key: "symbol" },
            { label: "amount", align: "right", render: (p) => num(p.amount) },
            { label: "avg price", align: "right", render: (p) => num(pick(p, "averagePrice")) },
            {
              label: "realized",
              align: "right",
              render: (p) =>
                html`<span class=${signClass(pick(p, "realizedPnl"))}>${money(pick(p, "realizedPnl"))}</span>`,
            },
          ]} />`}
      <//>
    <//>
    <${Card} title="Fills (live, since this page opened)">
      <${Table} id="fills" rows=${fills} empty="no fill yet" columns=${[
        { label: "time", render: (f) => time(f.timestamp) },
        { label: "symbol", key: "symbol" },
        {
          label: "side",
          render: (f) => html`<span class=${f.side === "buy" ? "pos" : "neg"}>${f.side}</span>`,
        },
        { label: "amount", align: "right", render: (f) => num(f.amount) },
        { label: "price", align: "right", render: (f) => num(f.price) },
        { label: "fee", align: "right", render: (f) => num(f.fee?.cost) },
        { label: "strategy", render: (f) => pick(f, "strategyId") ?? "—" },
      ]} />
    <//>
    <${Card} title="Trades (ledger, newest first)" wide>
      <${Show} state=${trades} what="ledger.get_trades">
        ${(r) =>
          html`<${Table} id="ledger-trades" rows=${r.trades} empty="no trade yet" columns=${[
            { label: "opened", render: (t) => time(t.opened_at) },
            { label: "symbol", key: "symbol" },
            { label: "side", key: "side" },
            { label: "status", key: "status" },
            {
              label: "strategy",
              render: (t) => t.strategy_id ?? html`<span class="muted" data-manual>manual</span>`,
            },
            { label: "entry qty", align: "right", render: (t) => num(t.entry_qty) },
            { label: "avg entry", align: "right", render: (t) => num(t.avg_entry_price) },
            { label: "avg exit", align: "right", render: (t) => num(t.avg_exit_price) },
            { label: "fees", align: "right", render: (t) => money(t.fees_paid) },
            {
              label: "PnL",
              align: "right",
              render: (t) => {
                const v = t.realized_pnl + (t.unrealized_pnl ?? 0);
                return html`<span class=${signClass(v)}>${money(v)}</span>`;
              },
            },
          ]} />`}
      <//>
    <//>
    <${Card} title="Orders" wide>
      <${Show} state=${orders} what="exchange.list_orders">
        ${(
          r,
        ) => html`<${Table} id="orders" rows=${[...r.orders].sort((a, b) => pick(b, "updatedAt") - pick(a, "updatedAt"))}
          empty="no order yet" columns=${[
            { label: "time", render: (o) => time(pick(o, "createdAt")) },
            { label: "symbol", key: "symbol" },
            { label: "side", key: "side" },
            { label: "type", key: "type" },
            { label: "amount", align: "right", render: (o) => num(o.amount) },
            { label: "filled", align: "right", render: (o) => num(o.filled) },
            { label: "avg price", align: "right", render: (o) => num(pick(o, "averagePrice")) },
            { label: "status", render: (o) => html`<span class="badge">${o.status}</span>` },
            { label: "strategy", render: (o) => pick(o, "strategyId") ?? "—" },
            { label: "reason", render: (o) => o.reason ?? "" },
          ]} />`}
      <//>
    <//>
  </div>`;
}
