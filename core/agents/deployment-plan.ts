import {
  type Agent,
  type FunctionAgent,
  type FunctionName,
  type ServiceAgent,
  type ServiceName,
  manifest,
} from "./manifest.ts";
import { agentProcess } from "./process.ts";

/**
 * What the SST stacks deploy, derived from the agent manifest: pure data, no SST, so it is
 * type-checked with the rest of the repository and read by the tests. The stack modules
 * (stacks/*.ts) only translate this plan into `sst.aws.*` components.
 */

/** `risk` → `Risk`, `market-data` → `MarketData`: SST resource names are PascalCase. */
export const pascal = (name: string) =>
  name
    .split(/[-_]/)
    .filter((p) => p.length > 0)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join("");

/** Venues whose API keys are deployed as secrets (ccxt ids; the exchange reads `<VENUE>_API_KEY`/`<VENUE>_SECRET`). */
export const exchangeVenues = ["binance"] as const;

/** Every SST secret of the app; `sst secret set <name> <value> --stage <stage>` fills them. */
export const secretNames = {
  /** `host:port` of the NATS servers (one seed is enough: clients learn the rest of a cluster from it). */
  natsHost: "NatsHost",
  /** The password of one agent's NATS user (the user is the agent's name; see infra/nats). */
  natsPassword: (agent: string) => `NatsPassword${pascal(agent)}`,
  apiKeys: "Bot4ApiKeys",
  exchangeApiKey: (venue: string) => `${pascal(venue)}ApiKey`,
  exchangeSecret: (venue: string) => `${pascal(venue)}Secret`,
} as const;

/** Environment variables filled from secrets: variable → secret name. */
export type SecretEnvironment = Readonly<Record<string, string>>;

/** One process's environment: literal values, values from secrets, and the NATS user it connects as. */
export interface ProcessEnvironment {
  readonly literal: Readonly<Record<string, string>>;
  readonly secrets: SecretEnvironment;
  /** NATS_URL becomes `nats://<natsUser>:<NatsPassword…>@<NatsHost>`. */
  readonly natsUser: string;
}

export interface FunctionSizing {
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
}

export interface ServiceSizing {
  readonly cpu: "0.25 vCPU" | "0.5 vCPU" | "1 vCPU" | "2 vCPU";
  readonly memoryGb: number;
  readonly min: number;
  readonly max: number;
}

export interface PlanOptions {
  /** Defaults for every function agent, and per-function overrides. */
  readonly functionSizing: FunctionSizing;
  readonly functionOverrides: Partial<Record<FunctionName, Partial<FunctionSizing>>>;
  /**
   * Packages a function's Lambda gets installed in node_modules instead of bundled: native addons
   * (onnxruntime-node), and ccxt, whose optional protobuf parts do not bundle (docs/deploy.md).
   */
  readonly functionInstall: Partial<Record<FunctionName, readonly string[]>>;
  readonly serviceSizing: ServiceSizing;
  /**
   * Per-service overrides. The exchange is a singleton: it owns the venue sessions, the order book
   * of its client order ids and the market streams, which two replicas would duplicate. So is the
   * strategy agent: every replica would run every instance (its KV record is compare-and-set).
   */
  readonly serviceOverrides: Partial<Record<ServiceName, Partial<ServiceSizing>>>;
  /** Services reachable from the internet through a load balancer (the rest stay inside the VPC). */
  readonly publicServices: readonly ServiceName[];
  /** Services given the venues' API keys (nobody else sees them). */
  readonly exchangeKeysTo: readonly ServiceName[];
  /** Trigger replicas; every replica runs one shard per function. */
  readonly triggerReplicas: { readonly min: number; readonly max: number };
  /** Lambda concurrency kept for HTTP tool calls on top of what the trigger can use. */
  readonly toolConcurrency: number;
}

export const defaultPlanOptions = {
  functionSizing: { memoryMb: 512, timeoutSeconds: 30 },
  functionOverrides: { backtesting: { memoryMb: 2048, timeoutSeconds: 300 } },
  functionInstall: { backtesting: ["ccxt", "onnxruntime-node"] },
  serviceSizing: { cpu: "0.5 vCPU", memoryGb: 1, min: 1, max: 4 },
  serviceOverrides: {
    exchange: { min: 1, max: 1 },
    inference: { cpu: "1 vCPU", memoryGb: 2 },
    strategy: { min: 1, max: 1 },
  },
  publicServices: ["coordinator"],
  exchangeKeysTo: ["exchange"],
  triggerReplicas: { min: 1, max: 2 },
  toolConcurrency: 4,
} as const satisfies PlanOptions;

export interface FunctionPlan {
  readonly agent: FunctionName;
  /** The SST resource name. */
  readonly resource: string;
  /** The Lambda name (the trigger invokes `<LAMBDA_FUNCTION_PREFIX><agent>`). */
  readonly lambdaName: string;
  readonly handler: string;
  readonly handlerFile: string;
  readonly runtime: "nodejs20.x";
  /** Installed beside the bundle rather than bundled. */
  readonly install: readonly string[];
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** Reserved concurrency: one in-flight batch per consumer per trigger replica, plus tool calls. */
  readonly reservedConcurrency: number;
  readonly environment: ProcessEnvironment;
  /**
   * The HTTP entry for the function's tools: a function URL (API Gateway v2 payload format) that only
   * IAM-signed callers may use, since the tools app has no API-key check of its own.
   */
  readonly url: { readonly authorization: "iam" };
}

export interface ServicePlan {
  readonly agent: ServiceName;
  readonly resource: string;
  readonly port: number;
  readonly dockerfile: string;
  readonly public: boolean;
  readonly healthCommand: readonly string[];
  readonly healthPath: string;
  readonly sizing: ServiceSizing;
  readonly environment: ProcessEnvironment;
}

export interface TriggerShardPlan {
  readonly function: FunctionName;
  /** The container name inside the trigger task. */
  readonly container: string;
  readonly environment: ProcessEnvironment;
}

export interface TriggerPlan {
  readonly resource: "Trigger";
  readonly dockerfile: string;
  readonly shards: readonly TriggerShardPlan[];
  /** The Lambdas the trigger may invoke: exactly the function agents. */
  readonly invokes: readonly FunctionName[];
  readonly replicas: { readonly min: number; readonly max: number };
}

export interface DeploymentPlan {
  readonly app: string;
  readonly stage: string;
  readonly secrets: readonly string[];
  readonly functions: readonly FunctionPlan[];
  readonly services: readonly ServicePlan[];
  readonly trigger: TriggerPlan;
  /**
   * Function agents left out because their `functions/<name>/handler.ts` does not exist yet (SST
   * would fail the whole deploy building them); they join the next deploy once the file exists.
   */
  readonly notYetImplemented: readonly FunctionName[];
}

const common = (stage: string) => ({
  ENVIRONMENT: stage === "production" || stage === "prod" ? "production" : "staging",
  LOG_LEVEL: "info",
});

function functionPlan(fn: FunctionAgent, app: string, stage: string, o: PlanOptions): FunctionPlan {
  const name = fn.name as FunctionName;
  const sizing = { ...o.functionSizing, ...o.functionOverrides[name] };
  return {
    agent: name,
    resource: `${pascal(name)}Function`,
    lambdaName: `${agentProcess.lambdaPrefix(app, stage)}${name}`,
    handler: agentProcess.lambdaHandler(name),
    handlerFile: agentProcess.handlerFile(name),
    runtime: "nodejs20.x",
    install: o.functionInstall[name] ?? [],
    memoryMb: sizing.memoryMb,
    timeoutSeconds: sizing.timeoutSeconds,
    reservedConcurrency: o.triggerReplicas.max * Math.max(1, fn.consumes.length) + o.toolConcurrency,
    environment: {
      literal: { ...common(stage) },
      secrets: { BOT4_API_KEYS: secretNames.apiKeys },
      natsUser: name,
    },
    url: { authorization: "iam" },
  };
}

function servicePlan(svc: ServiceAgent, stage: string, o: PlanOptions): ServicePlan {
  const name = svc.name as ServiceName;
  const exchangeKeys: Record<string, string> = o.exchangeKeysTo.includes(name)
    ? Object.fromEntries(
        exchangeVenues.flatMap((v) => [
          [`${v.toUpperCase()}_API_KEY`, secretNames.exchangeApiKey(v)],
          [`${v.toUpperCase()}_SECRET`, secretNames.exchangeSecret(v)],
        ]),
      )
    : {};
  return {
    agent: name,
    resource: `${pascal(name)}Service`,
    port: svc.port,
    dockerfile: agentProcess.dockerfile,
    public: o.publicServices.includes(name),
    healthCommand: agentProcess.healthCommand,
    healthPath: agentProcess.healthPath,
    sizing: { ...o.serviceSizing, ...o.serviceOverrides[name] },
    environment: {
      literal: {
        [agentProcess.roleVariable]: name,
        BOT4_HOST: "0.0.0.0",
        // The venues whose keys it holds are the venues it trades on (besides paper); BINANCE_TESTNET
        // keeps its default (true) until an operator sets it deliberately.
        ...(o.exchangeKeysTo.includes(name) ? { EXCHANGE_VENUES: exchangeVenues.join(",") } : {}),
        ...common(stage),
      },
      secrets: { BOT4_API_KEYS: secretNames.apiKeys, ...exchangeKeys },
      natsUser: name,
    },
  };
}

/**
 * The whole deployment of one stage. Every manifest agent appears exactly once: a service agent as
 * a container service, a function agent as a Lambda (fed by its trigger shard).
 */
export function deploymentPlan(
  app: string,
  stage: string,
  options: PlanOptions = defaultPlanOptions,
  agents: readonly Agent[] = manifest,
  /** Whether a repository file exists (sst.config.ts passes node:fs's existsSync); default: assume all do. */
  fileExists: (path: string) => boolean = () => true,
): DeploymentPlan {
  const functionAgentsOf = agents.filter((a): a is FunctionAgent => a.kind === "function");
  const ready = functionAgentsOf.filter((f) => fileExists(agentProcess.handlerFile(f.name)));
  const functions = ready.map((f) => functionPlan(f, app, stage, options));
  const notYetImplemented = functionAgentsOf
    .filter((f) => !ready.includes(f))
    .map((f) => f.name as FunctionName);
  const services = agents
    .filter((a): a is ServiceAgent => a.kind === "service")
    .map((s) => servicePlan(s, stage, options));
  const shards: TriggerShardPlan[] = functions.map((f) => ({
    function: f.agent,
    container: `${agentProcess.triggerRole}-${f.agent}`,
    environment: {
      literal: {
        [agentProcess.roleVariable]: agentProcess.triggerRole,
        [agentProcess.functionsVariable]: f.agent,
        FUNCTION_INVOKER: "lambda",
        LAMBDA_FUNCTION_PREFIX: agentProcess.lambdaPrefix(app, stage),
        // JetStream must not redeliver a batch while its Lambda may still be running.
        TRIGGER_ACK_WAIT_MS: String((f.timeoutSeconds + 30) * 1000),
        ...common(stage),
      },
      secrets: {},
      natsUser: f.agent,
    },
  }));
  const secrets = [
    secretNames.natsHost,
    ...agents.map((a) => secretNames.natsPassword(a.name)),
    secretNames.apiKeys,
    ...exchangeVenues.flatMap((v) => [secretNames.exchangeApiKey(v), secretNames.exchangeSecret(v)]),
  ];
  return {
    app,
    stage,
    secrets,
    functions,
    services,
    notYetImplemented,
    trigger: {
      resource: "Trigger",
      dockerfile: agentProcess.dockerfile,
      shards,
      invokes: functions.map((f) => f.agent),
      replicas: options.triggerReplicas,
    },
  };
}
