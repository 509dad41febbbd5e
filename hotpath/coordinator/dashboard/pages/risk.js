import { call } from "../lib/api.js";
import {
  Card,
  Confirm,
  html,
  KeyValues,
  money,
  num,
  pct,
  Show,
  Table,
  useEvents,
  useTool,
} from "../lib/ui.js";
import { useState } from "../vendor/preact-hooks.mjs";
import { label } from "./common.js";

function KillSwitch({ engaged, onChanged }) {
  const [asking, setAsking] = useState(false);
  const [result, setResult] = useState();
  const confirm = async (reason) => {
    setAsking(false);
    const r = await call("risk", "kill_switch", { enabled: !engaged, ...(reason ? { reason } : {}) });
    setResult(r);
    onChanged();
  };
  return html`<div id="kill-switch" data-engaged=${String(engaged)}>
    ${
      engaged
        ? html`<div class="killed">The kill switch is ENGAGED: every new order is refused.</div>`
        : html`<p>The kill switch is off: orders pass the pre-trade checks.</p>`
    }
    <button class=${engaged ? "secondary" : "danger"} id="kill-switch-button" onClick=${() => setAsking(true)}>
      ${engaged ? "Release the kill switch…" : "Engage the kill switch…"}
    </button>
    ${result && !result.ok ? html`<p class="error">${result.error.message}</p>` : null}
    ${
      asking
        ? html`<${Confirm}
          title=${engaged ? "Release the kill switch?" : "Engage the kill switch?"}
          text=${
            engaged
              ? "Orders will be accepted again, subject to the risk limits."
              : "Every new order on every venue will be refused until the switch is released."
          }
          confirmLabel=${engaged ? "Release" : "Engage kill switch"}
          danger=${!engaged}
          withReason
          onConfirm=${confirm}
          onCancel=${() => setAsking(false)}
        />`
        : null
    }
  </div>`;
}

function Correlation({ correlation }) {
  const { symbols, matrix } = correlation;
  if (symbols.length === 0) return html`<p class="muted">no positions to correlate</p>`;
  return html`<div class="table-wrap"><table id="correlation">
    <thead><tr><th></th>${symbols.map((s) => html`<th class="r">${s}</th>`)}</tr></thead>
    <tbody>${symbols.map(
      (s, i) => html`<tr><th>${s}</th>${matrix[i].map((v) => html`<td class="r">${num(v, 2)}</td>`)}</tr>`,
    )}</tbody>
  </table></div>`;
}

export function Risk() {
  const metrics = useTool("risk", "risk_metrics", {}, { every: 2_000 });
  const controls = useEvents("events.trade.control.>", 20);
  return html`<${Show} state=${metrics} what="risk.risk_metrics">
    ${(m) => html`<div class="grid">
      <${Card} title="Kill switch"><${KillSwitch} engaged=${m.limits.kill_switch} onChanged=${metrics.reload} /><//>
      <${Card} title="Portfolio">
        <${KeyValues} items=${[
          ["equity", money(m.equity)],
          ["drawdown", pct(m.drawdown)],
          ["gross leverage", num(m.gross_leverage, 2)],
          [`VaR ${pct(m.portfolio.confidence, 0)}, ${m.portfolio.horizon_days} d`, money(m.portfolio.var)],
          ["CVaR", money(m.portfolio.cvar)],
          ["volatility", pct(m.portfolio.volatility)],
        ]} />
      <//>
      <${Card} title="Limits and their utilisation" wide>
        <${Table} id="limits" rows=${Object.entries(m.utilisation).map(([k, u]) => ({ id: k, k, ...u }))}
          columns=${[
            { label: "limit", render: (r) => label(r.k) },
            { label: "value", align: "right", render: (r) => num(r.value, 4) },
            { label: "limit", align: "right", render: (r) => num(r.limit, 4) },
            {
              label: "utilisation",
              align: "right",
              render: (r) =>
                html`<span class=${r.utilisation >= 1 ? "neg" : r.utilisation >= 0.8 ? "badge medium" : ""}>${pct(r.utilisation, 1)}</span>`,
            },
          ]} />
        ${
          m.breaches.length > 0
            ? html`<p class="error">${m.breaches.map((b) => b.message).join("; ")}</p>`
            : html`<p class="ok">No limit is breached.</p>`
        }
      <//>
      <${Card} title="Positions at risk" wide>
        <${Table} id="risk-positions" rows=${m.positions.map((p) => ({ id: p.symbol, ...p }))} empty="no position"
          columns=${[
            { label: "symbol", key: "symbol" },
            { label: "amount", align: "right", render: (p) => num(p.amount) },
            { label: "mark", align: "right", render: (p) => num(p.mark) },
            { label: "notional", align: "right", render: (p) => money(p.notional) },
            { label: "fraction", align: "right", render: (p) => pct(p.fraction) },
            { label: "VaR", align: "right", render: (p) => money(p.var) },
            { label: "CVaR", align: "right", render: (p) => money(p.cvar) },
          ]} />
      <//>
      <${Card} title="Correlation"><${Correlation} correlation=${m.correlation} /><//>
      <${Card} title="Limit and kill-switch changes (live)">
        <${Table} id="controls" rows=${controls} empty="none since this page opened" columns=${[
          { label: "time", render: (e) => e.time.slice(11, 19) },
          { label: "change", render: (e) => e.type },
          { label: "what", render: (e) => (e.data?.changed ?? []).join(", ") },
          { label: "reason", render: (e) => e.data?.reason ?? "" },
        ]} />
      <//>
    </div>`}
  <//>`;
}
