import type { Hono } from "hono";
import type { Registry } from "prom-client";
import type { ServiceAgent } from "../../core/agents/manifest.ts";
import type { Bus } from "../../adapters/nats/bus.ts";
import type { Config } from "../../core/config.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import type { Dispatch } from "../../core/tools/execute.ts";
import type { ToolRegistry } from "../../core/tools/registry.ts";
import type { RpcRelay } from "../../core/tools/relay.ts";

/** What every hot-path service is given by whoever starts it (launcher, test, container entry). */
export interface ServiceDeps {
  config: Config;
  bus: Bus;
  logger: Logger;
}

/** Options of one running instance. */
export interface ServeOptions {
  /** Default: the agent's manifest port; 0 picks a free port (tests). */
  port?: number;
  /** Default: config.BOT4_HOST. */
  host?: string;
  /** Default: a random id. */
  instanceId?: string;
  /** Milliseconds SIGTERM/stop waits for in-flight work before closing anyway. Default 10 000. */
  shutdownDeadlineMs?: number;
  /** Install SIGTERM/SIGINT handlers (containers); tests and the launcher leave it off. */
  handleSignals?: boolean;
  /** Overrides of the HTTP protection the kit derives from the config (BOT4_API_KEYS, BOT4_RATE_*…). */
  protection?: Partial<ProtectionOptions>;
}

/** The HTTP side's protection. Defaults come from the config; `/health` is always open. */
export interface ProtectionOptions {
  /** Accepted bearer tokens; empty means no authentication (and loopback-only binding). */
  apiKeys: readonly string[];
  /** Per-client token bucket: refill per second and bucket size; false disables it. */
  rateLimit: { perSecond: number; burst: number } | false;
  /** Largest accepted request body in bytes (413 above). */
  bodyLimitBytes: number;
  /** Bind to a non-loopback host without API keys (with a loud warning) instead of falling back to loopback. */
  allowInsecureBind: boolean;
  /** Host names accepted besides loopback and the bind host (`*`: any); see guard.ts. */
  allowedHosts: readonly string[];
  /** Origins accepted besides loopback and same-origin ones. */
  allowedOrigins: readonly string[];
  /** Origins that get CORS answers; empty: CORS closed. */
  corsOrigins: readonly string[];
  /** Most members of one JSON-RPC batch on `POST /rpc` (and `/mcp`); each counts against the rate limit. */
  rpcBatchMax: number;
  /** Failed authentications per minute per remote address before 429 (false: unlimited). */
  authFailuresPerMinute: number | false;
}

/** What an agent hands the kit: its tools, its own readiness, extra metrics and routes, and cleanup. */
export interface ServiceSpec {
  agent: ServiceAgent;
  registry: ToolRegistry;
  version?: string;
  /** The agent's own readiness (models loaded, venue connected…); the kit adds "bus connected". */
  ready?: () => boolean | Promise<boolean>;
  /** Called with the service's Prometheus registry so the agent can add its own metrics. */
  metrics?: (registry: Registry) => void;
  /** Routes open without an API key (the coordinator's dashboard shell), mounted before the protection. */
  publicRoutes?: (app: Hono) => void;
  /** Extra routes (the coordinator's /status, /mcp …), mounted after the kit's own. */
  routes?: (app: Hono) => void;
  /** Stops the agent's own work (consumers, timers) before the bus drains. */
  onStop?: () => Promise<void>;
  /**
   * Where `POST /rpc` and `POST /tools/:tool` send calls. Default: this agent's registry. The
   * coordinator routes other agents' calls over NATS. NATS always serves the agent's own registry.
   */
  dispatch?: Dispatch;
  /**
   * Forwards `POST /rpc` calls for other agents as they are and answers the agents' reply bytes (the
   * coordinator); calls it keeps go to the dispatch.
   */
  relay?: RpcRelay;
  /** Replaces the body of `GET /tools` (the coordinator's aggregated listing). */
  listTools?: () => unknown | Promise<unknown>;
}

export interface RunningService {
  readonly agent: string;
  readonly instanceId: string;
  readonly url: string;
  readonly port: number;
  readonly app: Hono;
  readonly metrics: Registry;
  /** The host the HTTP server is bound to. */
  readonly host: string;
  /** Stops intake, runs onStop, removes the registry entry; the bus is the caller's to drain. */
  stop(): Promise<void>;
}

/**
 * The module contract of `hotpath/<agent>/service.ts`: the launcher imports it by the manifest name
 * and calls `start`.
 */
export interface ServiceModule {
  start(deps: ServiceDeps, options?: ServeOptions): Promise<RunningService>;
}
