import type { PreTradeLimits } from "../../core/compliance/pretrade.ts";
import type { Venue } from "../../core/ports/venue.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import type { OrderRecords } from "./order-records.ts";
import type { OrderUpdates } from "./order-updates.ts";
import type { Publisher } from "./publisher.ts";
import type { RiskSource } from "./risk-source.ts";
import type { VenueStates } from "./venue-states.ts";

/** The order manager's options (oms.ts), which its parts (submit.ts, resync.ts) read too. */
export interface OmsOptions {
  venues: ReadonlyMap<string, Venue>;
  publisher: Publisher;
  risk: RiskSource;
  /** Pre-trade compliance limits (core/compliance/pretrade.ts); absent: no compliance check. */
  compliance?: PreTradeLimits;
  logger: Logger;
  /** Attempts to reach the venue when reconciling a submit (default 4, backoff from 100 ms). */
  reconcileAttempts?: number;
  reconcileDelayMs?: number;
  /** How long a submit waits for its events to be stored before answering 503 (default 5 000 ms). */
  durableTimeoutMs?: number;
  /**
   * An open order the venue no longer knows is marked canceled once it is older than this (default
   * 5 days, as freqtrade); younger ones are left open and looked up again at the next resync.
   */
  staleOrderMs?: number;
}

/** What the order manager shares with its parts: options, the records, venue states, the update path. */
export interface OmsContext {
  readonly o: OmsOptions;
  readonly records: OrderRecords;
  readonly states: VenueStates;
  readonly updates: OrderUpdates;
  venue(name: string): Venue;
  /** Now on the venue's time base (paper: the market clock), which its order states are stamped with. */
  timeOf(venue: string): number;
  price(venue: string, symbol: string): number | undefined;
}
