import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Config } from "../../core/config.ts";
import { freePort, isListening, type NatsServerHandle, startNatsServer } from "../nats-server/process.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { natsUsers } from "../nats/permissions.ts";
import { renderNatsConfig } from "../nats/render.ts";
import { CREDENTIALS_FILE, loadOrCreateCredentials, passwordEnv } from "./credentials.ts";

export interface EmbeddedNats {
  url: string;
  /** The server this process started, if it started one. */
  server?: NatsServerHandle;
  /**
   * Per-user passwords of the server this process started (admin + one per manifest agent); absent
   * when NATS_URL was given (then that URL is used as is, credentials and all).
   */
  credentials?: ReadonlyMap<string, string>;
  /** Where the credentials are stored (0600), when this process generated them. */
  credentialsFile?: string;
}

const DEFAULT_PORT = 4222;

/**
 * The bus for the embedded default: NATS_URL when set (used as is); otherwise a nats-server started
 * here with JetStream, a store under BOT4_DATA_DIR, on 4222 when free (else on a free port), and
 * **authentication on**: the users and permissions of infra/nats/permissions.ts rendered from the
 * manifest into BOT4_DATA_DIR/nats/nats-server.conf, with passwords generated once into
 * BOT4_DATA_DIR/nats-credentials.json (mode 0600). No anonymous client gets in.
 */
export async function embeddedNats(config: Config, logger: Logger): Promise<EmbeddedNats> {
  if (config.NATS_URL !== undefined) {
    logger.info({ url: redact(config.NATS_URL) }, "using the nats-server at NATS_URL");
    return { url: config.NATS_URL };
  }
  const dataDir = resolve(config.BOT4_DATA_DIR);
  const storeDir = join(dataDir, "nats");
  mkdirSync(storeDir, { recursive: true });
  const credentialsFile = join(dataDir, CREDENTIALS_FILE);
  const credentials = loadOrCreateCredentials(credentialsFile);
  const configFile = join(storeDir, "nats-server.conf");
  writeFileSync(configFile, renderNatsConfig(natsUsers()), { mode: 0o600 });
  const port = (await isListening(DEFAULT_PORT)) ? await freePort() : DEFAULT_PORT;
  if (port !== DEFAULT_PORT) {
    logger.info(
      { port },
      `port ${DEFAULT_PORT} is taken (another nats-server?); starting an embedded nats-server on ${port}`,
    );
  }
  const server = await startNatsServer({ port, storeDir, configFile, env: passwordEnv(credentials) });
  logger.info(
    { url: server.url, storeDir, credentialsFile },
    "started an embedded nats-server with JetStream and per-agent users (set NATS_URL to use your own)",
  );
  return { url: server.url, server, credentials, credentialsFile };
}

/** A URL with its password replaced, for logs. */
export const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/g, "//$1:***@");
