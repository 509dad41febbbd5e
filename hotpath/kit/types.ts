import type { Hono } from "hono";
import type { Registry } from "prom-client";
import type { ServiceAgent } from "../../core/agents/manifest.ts";
import type { Bus } from "../../core/bus/bus.ts";
import type { Config } from "../../core/config.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import type { ToolRegistry } from "../../core/tools/registry.ts";

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
  /** Extra routes (the coordinator's /status, /mcp …), mounted after the kit's own. */
  routes?: (app: Hono) => void;
  /** Stops the agent's own work (consumers, timers) before the bus drains. */
  onStop?: () => Promise<void>;
}

export interface RunningService {
  readonly agent: string;
  readonly instanceId: string;
  readonly url: string;
  readonly port: number;
  readonly app: Hono;
  readonly metrics: Registry;
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
