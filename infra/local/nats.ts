import { join, resolve } from "node:path";
import { mkdirSync } from "node:fs";
import {
  type NatsServerHandle,
  freePort,
  isListening,
  startNatsServer,
} from "../../core/nats-server/process.ts";
import type { Config } from "../../core/config.ts";
import type { Logger } from "../../core/telemetry/log.ts";

export interface EmbeddedNats {
  url: string;
  /** The server this process started, if it started one. */
  server?: NatsServerHandle;
}

const DEFAULT_PORT = 4222;

/**
 * The bus for the embedded default: NATS_URL when set; otherwise a nats-server started here with
 * JetStream and a store under BOT4_DATA_DIR, on 4222 when free (else on a free port).
 */
export async function embeddedNats(config: Config, logger: Logger): Promise<EmbeddedNats> {
  if (config.NATS_URL !== undefined) {
    logger.info({ url: config.NATS_URL }, "using the nats-server at NATS_URL");
    return { url: config.NATS_URL };
  }
  const storeDir = resolve(join(config.BOT4_DATA_DIR, "nats"));
  mkdirSync(storeDir, { recursive: true });
  const port = (await isListening(DEFAULT_PORT)) ? await freePort() : DEFAULT_PORT;
  if (port !== DEFAULT_PORT) {
    logger.info(
      { port },
      `port ${DEFAULT_PORT} is taken (another nats-server?); starting an embedded nats-server on ${port}`,
    );
  }
  const server = await startNatsServer({ port, storeDir });
  logger.info(
    { url: server.url, storeDir },
    "started an embedded nats-server with JetStream (set NATS_URL to use your own)",
  );
  return { url: server.url, server };
}
