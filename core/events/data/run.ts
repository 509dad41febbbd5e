import { z } from "zod";

/** A run's name (a backtest, an analysis, a gate evaluation): its events and its stored result. */
export const RunId = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,80}$/, "letters, digits, '_', '.', '-' (at most 80)");
