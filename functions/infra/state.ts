import { z } from "zod";
import { Tick } from "../../core/events/data/infra.ts";
import { AlertState } from "./rules.ts";

/** The infra function's state: what its handler keeps and its tools read (apart from both, so neither imports the other). */
export const ResolvedAlert = AlertState.extend({ resolvedAt: z.number() });

export const InfraState = z.object({
  /** Pending and firing alerts by id. */
  alerts: z.record(z.string(), AlertState),
  /** The last 50 resolved alerts, newest last. */
  resolved: z.array(ResolvedAlert),
  /** The latest tick's health (without its series). */
  health: Tick.omit({ samples: true }).nullable(),
  /** Event time of the last tick applied: an older tick (a late redelivery) changes nothing. */
  lastAt: z.number(),
});
export type InfraState = z.infer<typeof InfraState>;

export const initialInfraState = (): InfraState => ({ alerts: {}, resolved: [], health: null, lastAt: 0 });
