import type { Agent } from "./manifest.ts";

/**
 * How one agent runs as its own process outside `npm start`: the contract shared by the container
 * entry (infra/docker/entry.ts), the compose file, the LocalStack script and the SST stacks, so the
 * names below are spelled once.
 */
export const agentProcess = {
  /** The environment variable naming what a container runs: a service agent, `trigger` or `topology`. */
  roleVariable: "AGENT",
  /** For the trigger role: the function agents this trigger shard feeds (comma-separated; default all). */
  functionsVariable: "BOT4_FUNCTIONS",
  /**
   * The prefix of deployed Lambda names (the trigger's LAMBDA_FUNCTION_PREFIX): function `compliance`
   * of app `bot4`, stage `prod` is the Lambda `bot4-prod-compliance`; LocalStack uses stage `local`.
   */
  lambdaPrefix: (app: string, stage: string) => `${app}-${stage}-`,
  /** The role of the trigger container (not an agent: it feeds the function agents). */
  triggerRole: "trigger",
  /** The port a trigger container serves `/health` and `/metrics` on. */
  triggerPort: 9100,
  /** The one-shot role that creates streams, KV buckets and object stores, then exits. */
  topologyRole: "topology",
  /** The hot-path image, relative to the repository root (the build context). */
  dockerfile: "infra/docker/Dockerfile",
  /** A hot-path service's module. */
  serviceModule: (name: string) => `hotpath/${name}/service.ts`,
  /** A function agent's Lambda entry file and its handler string (`<file without .ts>.handler`). */
  handlerFile: (name: string) => `functions/${name}/handler.ts`,
  lambdaHandler: (name: string) => `functions/${name}/handler.handler`,
  /** App name and stage of the LocalStack deployment (so its Lambdas are `bot4-local-<function>`). */
  localApp: { app: "bot4", stage: "local" },
  /** The container's entry and its health probe (run through tsx: the image carries sources, not a build). */
  entryCommand: ["node", "--import", "tsx", "infra/docker/entry.ts"],
  healthCommand: ["node", "--import", "tsx", "infra/docker/healthcheck.ts"],
  /** The probe every service answers without authentication. */
  healthPath: "/health",
} as const;

/** The container role of an agent: service agents run as themselves; function agents run in Lambda. */
export const containerRoles = (agents: readonly Agent[]): string[] => [
  ...agents.filter((a) => a.kind === "service").map((a) => a.name),
  agentProcess.triggerRole,
  agentProcess.topologyRole,
];
