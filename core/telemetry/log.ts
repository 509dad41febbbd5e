import { pino, type Logger } from "pino";

export type { Logger };

/**
 * One structured JSON logger per process component. Child loggers carry `agent` and, per request,
 * `correlationId`, so a call can be followed across services by grepping one id.
 */
export function createLogger(component: string, level: string = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({
    name: component,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A logger for tests and benches: silent unless LOG_LEVEL says otherwise. */
export function quietLogger(component = "test"): Logger {
  return createLogger(component, process.env.LOG_LEVEL ?? "silent");
}
