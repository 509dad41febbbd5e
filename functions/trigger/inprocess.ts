import type { Config } from "../../core/config.ts";
import { runParsed } from "../../core/functions/run.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { FunctionFailedError, type Invoker } from "./invoker.ts";

/** Runs functions in this process: the local default, and what tests and the bench use. */
export function inProcessInvoker(env: { config: Config; logger: Logger }): Invoker {
  return {
    kind: "inprocess",
    async invoke(def, payload, parsed, live) {
      try {
        return await runParsed(def, parsed, payload.state, payload.now, {
          ...env,
          ...(live !== undefined ? { live } : {}),
        });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new FunctionFailedError(def.name, message, err instanceof Error ? err.name : undefined, {
          cause: err,
        });
      }
    },
  };
}
