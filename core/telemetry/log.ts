import { pino, type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger };

export type LogFormat = "pretty" | "json";

/**
 * `LOG_FORMAT` when set (`pretty` or `json`); otherwise human-readable lines on a terminal and JSON
 * lines anywhere else (pipes, files, containers, log shippers).
 */
export function logFormat(
  env: Record<string, string | undefined> = process.env,
  tty = process.stdout.isTTY === true,
): LogFormat {
  const wanted = env.LOG_FORMAT;
  if (wanted === "json" || wanted === "pretty") return wanted;
  return tty ? "pretty" : "json";
}

/** Fields the pretty format shows in front of the message instead of after it. */
const WHO = ["agent", "function", "component"] as const;

/**
 * One pretty line per record: `12:00:01.234 INFO  risk      risk limits changed  changed=[…]`. Runs in
 * this thread (sync), so nothing is lost when the process exits right after logging.
 */
function prettyStream() {
  return pretty({
    colorize: process.stdout.isTTY === true,
    sync: true,
    singleLine: true,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: ["pid", "hostname", "name", ...WHO].join(","),
    messageFormat: (log, messageKey) => {
      const who = WHO.map((k) => log[k]).find((v) => typeof v === "string") ?? String(log.name ?? "");
      return `${who.padEnd(11)} ${String(log[messageKey] ?? "")}`;
    },
  });
}

/**
 * One structured logger per process component. Child loggers carry `agent` and, per request,
 * `correlationId`, so a call can be followed across services by grepping one id. JSON or pretty
 * as {@link logFormat} decides.
 */
export function createLogger(
  component: string,
  level: string = process.env.LOG_LEVEL ?? "info",
  format: LogFormat = logFormat(),
): Logger {
  const options = {
    name: component,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return format === "json" ? pino(options) : pino(options, prettyStream());
}

/** A logger for tests and benches: silent unless LOG_LEVEL says otherwise. */
export function quietLogger(component = "test"): Logger {
  return createLogger(component, process.env.LOG_LEVEL ?? "silent");
}

/**
 * A child logger with only the bindings the parent does not carry already: pino writes every
 * binding of every level, so binding `agent` twice prints `"agent":"x","agent":"x"`.
 */
export function childWith(logger: Logger, bindings: Record<string, unknown>): Logger {
  const bound = logger.bindings();
  const fresh = Object.fromEntries(Object.entries(bindings).filter(([k, v]) => bound[k] !== v));
  return Object.keys(fresh).length === 0 ? logger : logger.child(fresh);
}

/**
 * The child logger of one tool call: its request and correlation ids, the tool, and the agent that
 * serves it. A parent bound to that agent already keeps its `agent`; a parent bound to another agent
 * (the coordinator routing a call) names the called one `target`, so no key is written twice.
 */
export function callLogger(
  logger: Logger,
  call: { agent: string; tool: string } & Record<string, unknown>,
): Logger {
  const { agent, ...rest } = call;
  const bound = logger.bindings().agent;
  return childWith(
    logger,
    bound === undefined || bound === agent ? { ...rest, agent } : { ...rest, target: agent },
  );
}
