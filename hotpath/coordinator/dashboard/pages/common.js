// Readers for results whose exact shape belongs to agents still being built (ledger, strategy, infra):
// they accept the spellings such a tool is likely to use and say nothing more than the data shows.

import { pick } from "../lib/api.js";

const TIME_KEYS = ["ts", "time", "timestamp", "at", "t"];
const VALUE_KEYS = ["equity", "balance", "value", "total", "pnl", "cumulativePnl"];

export function firstArray(result, keys = []) {
  if (Array.isArray(result)) return result;
  if (result === null || typeof result !== "object") return [];
  for (const k of keys) {
    const v = pick(result, k);
    if (Array.isArray(v)) return v;
  }
  for (const v of Object.values(result)) if (Array.isArray(v)) return v;
  return [];
}

function toMs(t) {
  if (typeof t === "string") return Date.parse(t);
  if (typeof t !== "number") return Number.NaN;
  return t < 1e11 ? t * 1000 : t;
}

/** [{time: ms, value}] from an array of points with some time and some value field. */
export function pointsOf(result, keys = []) {
  const out = [];
  for (const p of firstArray(result, keys)) {
    const tk = TIME_KEYS.find((k) => pick(p, k) !== undefined);
    const vk = VALUE_KEYS.find((k) => typeof pick(p, k) === "number");
    if (tk === undefined || vk === undefined) continue;
    out.push({ time: toMs(pick(p, tk)), value: pick(p, vk) });
  }
  return out;
}

/** The numeric top-level fields of a result, as [label, value] pairs. */
export function numericFields(result) {
  if (result === null || typeof result !== "object") return [];
  return Object.entries(result).filter(([, v]) => typeof v === "number");
}

export const label = (key) =>
  key
    .replace(/_/g, " ")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase();

/** Equity sampled from risk.risk_metrics while the dashboard is open (kept across page changes). */
export const equitySamples = [];
