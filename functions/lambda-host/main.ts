import { readdirSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { functionAgents } from "../../core/agents/manifest.ts";
import { loadConfig } from "../../core/config.ts";
import type { LambdaHandler } from "../../adapters/lambda/handler.ts";
import { createLogger } from "../../core/telemetry/log.ts";
import { loadLambdaHandler } from "../modules.ts";
import { startLambdaHost } from "./host.ts";

/**
 * `npm run functions:host [-- --bundles <dir>] [--concurrency <n>]`: serves the Lambda Invoke API on
 * LAMBDA_HOST_PORT for every function with a `functions/<name>/handler.ts`, or for the bundles in
 * `<dir>` (`<name>.mjs|.js`, each exporting `handler`, as esbuild writes them). Point the trigger at
 * it with FUNCTION_INVOKER=lambda AWS_ENDPOINT_URL=http://127.0.0.1:<port>.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger("lambda-host", config.LOG_LEVEL);
  const args = process.argv.slice(2);
  const option = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const handlers = new Map<string, LambdaHandler>();
  const bundles = option("--bundles");
  if (bundles !== undefined) {
    const dir = resolve(bundles);
    for (const file of readdirSync(dir)) {
      if (![".mjs", ".js", ".cjs"].includes(extname(file))) continue;
      const mod = (await import(pathToFileURL(join(dir, file)).href)) as {
        handler?: LambdaHandler;
        default?: { handler?: LambdaHandler };
      };
      // An ESM bundle exports `handler`; a CommonJS one arrives as `default.handler`.
      const handler = mod.handler ?? mod.default?.handler;
      if (typeof handler !== "function") {
        logger.warn({ file }, "bundle exports no `handler`; skipped");
        continue;
      }
      handlers.set(`${config.LAMBDA_FUNCTION_PREFIX}${basename(file, extname(file))}`, handler);
    }
  } else {
    for (const agent of functionAgents) {
      const handler = await loadLambdaHandler(agent.name);
      if (handler === undefined) {
        logger.warn({ function: agent.name }, `no functions/${agent.name}/handler.ts; not served`);
        continue;
      }
      handlers.set(`${config.LAMBDA_FUNCTION_PREFIX}${agent.name}`, handler);
    }
  }
  const concurrency = Number(option("--concurrency") ?? "10");
  const host = await startLambdaHost({
    handlers,
    logger,
    port: config.LAMBDA_HOST_PORT,
    host: config.BOT4_HOST,
    concurrency: Number.isInteger(concurrency) && concurrency > 0 ? concurrency : 10,
  });
  console.log(`Lambda Invoke API at ${host.url} for: ${[...handlers.keys()].join(", ") || "(none)"}`);
  console.log(
    `use it with: FUNCTION_INVOKER=lambda AWS_ENDPOINT_URL=${host.url} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local npm start`,
  );
  const shutdown = () => {
    void host.stop().then(() => process.exit(0));
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
