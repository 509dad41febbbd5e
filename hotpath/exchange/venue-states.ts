import type { Logger } from "../../core/telemetry/log.ts";

/**
 * Whether each venue takes orders: `up`, or not while `initializing` (a polled venue before its first
 * resync), `down` (after an outage), `resyncing`; and the last error seen on each. Submits to a venue
 * that is not up are refused.
 */
export type VenueState = "initializing" | "up" | "down" | "resyncing";

export class VenueStates {
  private readonly states = new Map<string, VenueState>();
  private readonly lastErrors = new Map<string, { message: string; at: number }>();

  constructor(private readonly logger: Logger) {}

  state(venue: string): VenueState {
    return this.states.get(venue) ?? "down";
  }

  set(venue: string, state: VenueState): void {
    this.states.set(venue, state);
  }

  lastError(venue: string): { message: string; at: number } | undefined {
    return this.lastErrors.get(venue);
  }

  noteError(venue: string, err: unknown): void {
    this.lastErrors.set(venue, { message: err instanceof Error ? err.message : String(err), at: Date.now() });
  }

  markDown(venue: string, err: unknown): void {
    this.noteError(venue, err);
    if (this.states.get(venue) !== "down") {
      this.logger.warn({ venue, err }, "venue down; orders refused until it resyncs");
      this.states.set(venue, "down");
    }
  }
}
