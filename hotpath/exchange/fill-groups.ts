import type { Fill } from "../../core/domain/trading.ts";

/**
 * Fills grouped by a key (their order), each group in stream order; fills whose key is undefined are
 * left out. Made for rebuilding 100,000 orders at start: a group is created holding its first fill, so
 * an order's fill list takes one slot, not the 17 an empty array reserves on its first push.
 */
export function fillsBy(fills: Iterable<Fill>, key: (f: Fill) => string | undefined): Map<string, Fill[]> {
  const groups = new Map<string, Fill[]>();
  for (const f of fills) {
    const k = key(f);
    if (k === undefined) continue;
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [f]);
    else group.push(f);
  }
  return groups;
}

/**
 * Fills grouped by venue, then by their client order id (each group in stream order): the records'
 * grouping (order-records.ts), without building a `venue|clientOrderId` string per fill.
 */
export function fillsByVenueOrder(fills: Iterable<Fill>): Map<string, Map<string, Fill[]>> {
  const venues = new Map<string, Map<string, Fill[]>>();
  for (const f of fills) {
    let groups = venues.get(f.venue);
    if (groups === undefined) {
      groups = new Map();
      venues.set(f.venue, groups);
    }
    const group = groups.get(f.clientOrderId);
    if (group === undefined) groups.set(f.clientOrderId, [f]);
    else group.push(f);
  }
  return venues;
}
