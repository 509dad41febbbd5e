import { ConfigError, loadConfig } from "../../core/config.ts";
import { NatsServerMissingError } from "../nats-server/process.ts";
import { createLogger, logFormat } from "../../core/telemetry/log.ts";
import { tradingSummary, venueModes } from "../../core/venues.ts";
import { bannerText, bannerUrls } from "./banner.ts";
import { embeddedNats, redact } from "./nats.ts";
import { startSystem } from "./system.ts";

/**
 * `npm start`: the embedded default. One command brings up a nats-server (or uses NATS_URL), every
 * hot-path service, the functions in process and the coordinator, paper trading on simulated data.
 */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`bot4: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger("bot4", config.LOG_LEVEL);
  let nats: Awaited<ReturnType<typeof embeddedNats>>;
  try {
    nats = await embeddedNats(config, logger);
  } catch (err) {
    if (err instanceof NatsServerMissingError) {
      console.error(`bot4: ${err.message}`);
      process.exit(3);
    }
    throw err;
  }
  // Signals are handled from the start: a SIGTERM during start-up waits for it, then stops cleanly.
  let system: Awaited<ReturnType<typeof startSystem>> | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    // Each part has its own stop deadline (a trigger's batch in hand 10 s, a service's calls in
    // flight 10 s); this one only catches a stop that hangs past all of them in a row.
    const deadline = setTimeout(() => {
      logger.error("shutdown deadline passed; exiting");
      process.exit(1);
    }, 45_000);
    deadline.unref();
    await starting.catch(() => undefined);
    await system?.stop();
    await nats.server?.stop({ clean: false });
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));

  const starting = startSystem(config, nats.url, logger, nats.credentials);
  system = await starting;
  const banner = {
    environment: config.ENVIRONMENT,
    trading: tradingSummary(venueModes(config)),
    nats: redact(nats.url),
    ...(nats.credentialsFile !== undefined ? { operatorCredentials: nats.credentialsFile } : {}),
    services: system.services,
    triggerUrl: system.triggerUrl,
    notBuilt: system.notBuilt,
    keyed: config.BOT4_API_KEYS.length > 0,
  };
  const urls = bannerUrls(banner);
  if (logFormat() === "pretty") process.stdout.write(bannerText(banner));
  else
    logger.info(
      { ...urls, trading: banner.trading },
      `Bot4 is up (${banner.trading}): dashboard ${urls.dashboard ?? "(no coordinator)"}`,
    );
}

main().catch((err: unknown) => {
  console.error("bot4: failed to start:", err);
  process.exit(1);
});
