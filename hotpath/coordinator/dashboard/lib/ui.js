// Shared pieces of every page: data hooks over the API and the live feed, small components, number
// and time formatting.

import { html } from "../vendor/htm-preact.mjs";
import { useCallback, useEffect, useRef, useState } from "../vendor/preact-hooks.mjs";
import { call, catalog, getJson } from "./api.js";
import { onEvent } from "./live.js";

export { html };

// --- formatting -------------------------------------------------------------------------------------

const cache = new Map();
function nf(min, max) {
  const key = `${min}:${max}`;
  let f = cache.get(key);
  if (f === undefined) {
    f = new Intl.NumberFormat("en-US", { minimumFractionDigits: min, maximumFractionDigits: max });
    cache.set(key, f);
  }
  return f;
}

/** A number with digits suited to its size (prices, amounts); "—" for null. */
export function num(x, digits) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  if (digits !== undefined) return nf(digits, digits).format(x);
  const a = Math.abs(x);
  if (a === 0) return "0";
  if (a >= 1000) return nf(0, 2).format(x);
  if (a >= 1) return nf(0, 4).format(x);
  return nf(0, 8).format(x);
}

export const money = (x) => (x === null || x === undefined ? "—" : nf(2, 2).format(x));
export const pct = (x, digits = 2) =>
  x === null || x === undefined || !Number.isFinite(x) ? "—" : `${nf(digits, digits).format(x * 100)} %`;

export function time(ms) {
  if (ms === null || ms === undefined) return "—";
  const d = new Date(typeof ms === "string" ? ms : Number(ms));
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString().replace("T", " ").slice(0, 19);
}

export const signClass = (x) => (x > 0 ? "pos" : x < 0 ? "neg" : "");

// --- hooks -------------------------------------------------------------------------------------------

/** Re-renders when the tool catalog (GET /tools) changes. */
export function useCatalog() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const unsubscribe = catalog.subscribe(() => setTick((t) => t + 1));
    // A refresh between the first render and this effect would otherwise go unseen.
    setTick((t) => t + 1);
    return unsubscribe;
  }, []);
  return catalog;
}

/**
 * Calls a tool now and every `every` ms (0: once), and on `reload()`. State: {status: loading | ok |
 * missing | error, data, error, reload}. A tool that is not in the catalog is not called: its status
 * is `missing` with the reason.
 */
export function useTool(agent, tool, args = {}, { every = 0, enabled = true } = {}) {
  useCatalog();
  const [state, setState] = useState({ status: "loading" });
  const key = JSON.stringify(args);
  const absence = catalog.loaded ? catalog.absence(agent, tool) : undefined;
  const run = useCallback(async () => {
    if (!catalog.loaded || !enabled) return;
    if (catalog.absence(agent, tool) !== undefined) {
      setState({ status: "missing", error: { message: catalog.absence(agent, tool) } });
      return;
    }
    const r = await call(agent, tool, JSON.parse(key));
    if (r.ok) setState({ status: "ok", data: r.result });
    else setState((s) => ({ status: r.missing ? "missing" : "error", error: r.error, data: s.data }));
  }, [agent, tool, key, enabled, absence]);
  useEffect(() => {
    void run();
    if (!every) return undefined;
    const t = setInterval(run, every);
    return () => clearInterval(t);
  }, [run, every]);
  return { ...state, reload: run };
}

/** GET a JSON path now and every `every` ms. */
export function useJson(path, every = 0) {
  const [state, setState] = useState({ status: "loading" });
  useEffect(() => {
    let alive = true;
    const run = async () => {
      try {
        const data = await getJson(path);
        if (alive) setState({ status: "ok", data });
      } catch (err) {
        if (alive) setState({ status: "error", error: { message: err.message } });
      }
    };
    void run();
    const t = every ? setInterval(run, every) : undefined;
    return () => {
      alive = false;
      if (t) clearInterval(t);
    };
  }, [path, every]);
  return state;
}

/** The last `max` events matching `pattern`, newest first. */
export function useEvents(pattern, max = 50) {
  const [events, setEvents] = useState([]);
  useEffect(() => onEvent(pattern, (e) => setEvents((list) => [e, ...list].slice(0, max))), [pattern, max]);
  return events;
}

/** Calls `fn(event)` for matching events while mounted. */
export function useLive(pattern, fn) {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => onEvent(pattern, (e) => ref.current(e)), [pattern]);
}

// --- components ---------------------------------------------------------------------------------------

export function Card({ title, children, wide, id, actions }) {
  return html`<section class=${`card${wide ? " wide" : ""}`} id=${id}>
    <header><h2>${title}</h2>${actions}</header>
    <div class="body">${children}</div>
  </section>`;
}

/** What a page shows for a tool that is not there, failed, or is loading. */
export function Status({ state, what }) {
  if (state.status === "loading") return html`<p class="muted">loading…</p>`;
  if (state.status === "missing")
    return html`<p class="missing" data-missing=${what ?? ""}>Not there yet: ${state.error?.message}.</p>`;
  if (state.status === "error")
    return html`<p class="error">${what ? `${what}: ` : ""}${state.error?.message ?? "failed"}${
      state.error?.code ? ` (code ${state.error.code})` : ""
    }</p>`;
  return null;
}

/** Renders `children(data)` once the tool answered; otherwise its status. */
export function Show({ state, what, children }) {
  if (state.status === "ok" || (state.status === "error" && state.data !== undefined))
    return html`${state.status === "error" ? html`<${Status} state=${state} what=${what} />` : null}${children(
      state.data,
    )}`;
  return html`<${Status} state=${state} what=${what} />`;
}

/** A table: columns [{key, label, render?, align?}], rows []. */
export function Table({ columns, rows, empty = "nothing yet", id }) {
  if (!rows || rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<div class="table-wrap"><table id=${id}>
    <thead><tr>${columns.map((c) => html`<th class=${c.align === "right" ? "r" : ""}>${c.label}</th>`)}</tr></thead>
    <tbody>${rows.map(
      (r, i) =>
        html`<tr key=${r.id ?? i}>${columns.map(
          (c) =>
            html`<td class=${c.align === "right" ? "r" : ""}>${c.render ? c.render(r) : String(r[c.key] ?? "—")}</td>`,
        )}</tr>`,
    )}</tbody>
  </table></div>`;
}

export function KeyValues({ items }) {
  return html`<dl class="kv">${items.map(
    ([k, v, cls]) => html`<div><dt>${k}</dt><dd class=${cls ?? ""}>${v}</dd></div>`,
  )}</dl>`;
}

/** A confirmation dialog: `onConfirm(reason)` runs when the user confirms. */
export function Confirm({ title, text, confirmLabel, danger, onConfirm, onCancel, withReason }) {
  const [reason, setReason] = useState("");
  return html`<div class="modal-backdrop" role="dialog" aria-modal="true" aria-label=${title}>
    <div class="modal">
      <h3>${title}</h3>
      <p>${text}</p>
      ${
        withReason
          ? html`<label>Reason <input name="reason" value=${reason} maxlength="500"
            onInput=${(e) => setReason(e.currentTarget.value)} /></label>`
          : null
      }
      <div class="row">
        <button class="secondary" onClick=${onCancel}>Cancel</button>
        <button class=${danger ? "danger" : ""} data-confirm="yes" onClick=${() => onConfirm(reason)}>${confirmLabel}</button>
      </div>
    </div>
  </div>`;
}
