import { subjects } from "../subjects.ts";

/**
 * The agent manifest: every agent of Bot4, once. The coordinator's registry, the trigger's bindings,
 * the launcher, the SST stacks and the docs all derive from this list; nothing lists agents twice.
 */
export interface ServiceAgent {
  readonly name: string;
  /** The seed's name for the agent, accepted everywhere as an alias of `name`. */
  readonly alias: string;
  readonly title: string;
  readonly kind: "service";
  readonly port: number;
  /** Subjects the service consumes from JetStream (empty: it only serves tools). */
  readonly consumes: readonly string[];
  readonly description: string;
}

export interface FunctionAgent {
  readonly name: string;
  readonly alias: string;
  readonly title: string;
  readonly kind: "function";
  /** One durable consumer per subject; each subject is a single wildcard (nats-server 2.9). */
  readonly consumes: readonly string[];
  readonly description: string;
}

export type Agent = ServiceAgent | FunctionAgent;

export const manifest = [
  {
    name: "coordinator",
    alias: "mcpcoordinator",
    title: "MCP Coordinator",
    kind: "service",
    port: 3000,
    consumes: [],
    description: "Routes tool calls to agents, serves MCP, aggregates status and metrics",
  },
  {
    name: "risk",
    alias: "riskquant",
    title: "RiskQuant",
    kind: "service",
    port: 8081,
    consumes: [subjects.trade.all, subjects.market.allOfKind("candle"), subjects.market.allOfKind("ticker")],
    description: "Kelly sizing, VaR/CVaR, Monte Carlo, portfolio optimisation, real-time limits",
  },
  {
    name: "inference",
    alias: "mlengineer",
    title: "MLEngineer",
    kind: "service",
    port: 8082,
    consumes: [subjects.market.allOfKind("candle")],
    description: "Features, ONNX inference, model training and registry, regime detection",
  },
  {
    name: "exchange",
    alias: "exchangespec",
    title: "ExchangeSpec",
    kind: "service",
    port: 8083,
    consumes: [],
    description: "ccxt venues and the paper venue, orders, market streams, smart routing, rate limits",
  },
  {
    name: "architect",
    alias: "architect",
    title: "Architect",
    kind: "function",
    consumes: [subjects.commands.forFunction("architect")],
    description: "Duplication, layer rules, task decomposition, code quality",
  },
  {
    name: "quality",
    alias: "qualitygate",
    title: "QualityGate",
    kind: "function",
    consumes: [subjects.commands.forFunction("quality"), subjects.events.of("architect", "completed")],
    description: "Quality gate on new code, fed by the architect's analyses",
  },
  {
    name: "compliance",
    alias: "complianceauditor",
    title: "ComplianceAuditor",
    kind: "function",
    consumes: [subjects.trade.all],
    description: "Audit trail and trade surveillance",
  },
  {
    name: "backtesting",
    alias: "backtester",
    title: "Backtester",
    kind: "function",
    consumes: [subjects.commands.forFunction("backtesting")],
    description: "Event-driven backtests on the live strategy, sizing and fill code",
  },
  {
    name: "infra",
    alias: "infraengineer",
    title: "InfraEngineer",
    kind: "function",
    consumes: [subjects.commands.forFunction("infra")],
    description: "Infrastructure checks and operations",
  },
  {
    name: "integration",
    alias: "integrationvalidator",
    title: "IntegrationValidator",
    kind: "function",
    consumes: [subjects.commands.forFunction("integration")],
    description: "Cross-agent integration validation",
  },
] as const satisfies readonly Agent[];

export type AgentName = (typeof manifest)[number]["name"];
export type ServiceName = Extract<(typeof manifest)[number], { kind: "service" }>["name"];
export type FunctionName = Extract<(typeof manifest)[number], { kind: "function" }>["name"];

const byName = new Map<string, Agent>();
for (const agent of manifest as readonly Agent[]) {
  byName.set(agent.name, agent);
  byName.set(agent.alias, agent);
}

/** Resolves a name or seed alias (case-insensitive) to its agent, or undefined. */
export function findAgent(nameOrAlias: string): Agent | undefined {
  return byName.get(nameOrAlias.toLowerCase());
}

export const serviceAgents = (manifest as readonly Agent[]).filter(
  (a): a is ServiceAgent => a.kind === "service",
);
export const functionAgents = (manifest as readonly Agent[]).filter(
  (a): a is FunctionAgent => a.kind === "function",
);
