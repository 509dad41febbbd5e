import { subjects } from "../subjects.ts";

/**
 * The agent manifest: every agent of Bot4, once. The coordinator's registry, the trigger's bindings,
 * the launcher, the SST stacks and the docs all derive from this list; nothing lists agents twice.
 */
/**
 * What a tool does to the world, which the MCP annotations, the toolset allowlist and the
 * IntegrationValidator's safety rules derive from: `read` changes nothing (safe to call with any
 * input, any number of times); `write` changes Bot4's own state (limits, models, subscriptions, queued
 * runs); `trade` places or cancels orders on a venue (paper or live).
 */
export type ToolNature = "read" | "write" | "trade";

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
  /** Every tool the agent serves, with its nature. */
  readonly tools: Readonly<Record<string, ToolNature>>;
}

export interface FunctionAgent {
  readonly name: string;
  readonly alias: string;
  readonly title: string;
  readonly kind: "function";
  /** One durable consumer per subject; each subject is a single wildcard (nats-server 2.9). */
  readonly consumes: readonly string[];
  readonly description: string;
  /** Every tool the agent serves, with its nature. */
  readonly tools: Readonly<Record<string, ToolNature>>;
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
    tools: { agent_status: "read" },
  },
  {
    name: "risk",
    alias: "riskquant",
    title: "RiskQuant",
    kind: "service",
    port: 8081,
    consumes: [subjects.trade.all, subjects.market.allOfKind("candle"), subjects.market.allOfKind("ticker")],
    description: "Kelly sizing, VaR/CVaR, Monte Carlo, portfolio optimisation, real-time limits",
    tools: {
      calculate_kelly: "read",
      calculate_var: "read",
      monte_carlo: "read",
      optimize_portfolio: "read",
      pre_trade_check: "read",
      risk_metrics: "read",
      set_limits: "write",
      kill_switch: "write",
    },
  },
  {
    name: "inference",
    alias: "mlengineer",
    title: "MLEngineer",
    kind: "service",
    port: 8082,
    consumes: [subjects.market.allOfKind("candle")],
    description: "Features, ONNX inference, model training and registry, regime detection",
    tools: {
      extract_features: "read",
      predict: "read",
      detect_regime: "read",
      list_models: "read",
      train_model: "write",
      deploy_model: "write",
    },
  },
  {
    name: "exchange",
    alias: "exchangespec",
    title: "ExchangeSpec",
    kind: "service",
    port: 8083,
    consumes: [],
    description: "ccxt venues and the paper venue, orders, market streams, smart routing, rate limits",
    tools: {
      get_exchange_status: "read",
      get_ticker: "read",
      get_order_book: "read",
      get_balances: "read",
      get_positions: "read",
      get_order: "read",
      list_orders: "read",
      submit_order: "trade",
      cancel_order: "trade",
      route_order: "trade",
      subscribe_market: "write",
      unsubscribe_market: "write",
    },
  },
  {
    name: "strategy",
    alias: "strategyengine",
    title: "StrategyEngine",
    kind: "service",
    port: 8084,
    consumes: [subjects.market.allOfKind("candle"), subjects.events.signals, subjects.trade.all],
    description: "Live strategy instances on the shared kernel: decisions, protections, Kelly sizing, orders",
    tools: {
      list_strategies: "read",
      create_strategy: "write",
      start_strategy: "trade",
      stop_strategy: "trade",
      pause_strategy: "write",
      resume_strategy: "trade",
      update_strategy: "write",
      get_strategy: "read",
      strategy_profit: "read",
      get_candles: "read",
      get_signals: "read",
    },
  },
  {
    name: "architect",
    alias: "architect",
    title: "Architect",
    kind: "function",
    consumes: [subjects.commands.forFunction("architect")],
    description: "Duplication, layer rules, task decomposition, code quality",
    tools: {
      analyze_code: "read",
      find_duplicates: "read",
      check_layers: "read",
      complexity_report: "read",
      decompose_task: "read",
    },
  },
  {
    name: "quality",
    alias: "qualitygate",
    title: "QualityGate",
    kind: "function",
    consumes: [subjects.commands.forFunction("quality"), subjects.events.of("architect", "completed")],
    description: "Quality gate on new code, fed by the architect's analyses",
    tools: { evaluate_gate: "read" },
  },
  {
    name: "compliance",
    alias: "complianceauditor",
    title: "ComplianceAuditor",
    kind: "function",
    consumes: [subjects.trade.all],
    description: "Audit trail and trade surveillance",
    tools: { audit_trail: "read", compliance_report: "read", check_order: "read" },
  },
  {
    name: "backtesting",
    alias: "backtester",
    title: "Backtester",
    kind: "function",
    consumes: [subjects.commands.forFunction("backtesting")],
    description: "Event-driven backtests on the live strategy, sizing and fill code",
    tools: {
      run_backtest: "read",
      run_walk_forward: "read",
      submit_backtest: "write",
      get_backtest_result: "read",
    },
  },
  {
    name: "infra",
    alias: "infraengineer",
    title: "InfraEngineer",
    kind: "function",
    consumes: [subjects.commands.forFunction("infra")],
    description: "Infrastructure checks and operations",
    tools: { get_alerts: "read", health_report: "read" },
  },
  {
    name: "integration",
    alias: "integrationvalidator",
    title: "IntegrationValidator",
    kind: "function",
    consumes: [subjects.commands.forFunction("integration")],
    description: "Cross-agent integration validation",
    tools: { validate_contracts: "write", validation_report: "read" },
  },
  {
    name: "ledger",
    alias: "tradeledger",
    title: "TradeLedger",
    kind: "function",
    consumes: [subjects.trade.all],
    description: "Every order, fill and trade in SQL: trades, profit, performance, period PnL, equity",
    tools: {
      get_trades: "read",
      get_trade: "read",
      profit: "read",
      performance: "read",
      period_pnl: "read",
      balance_history: "read",
      export_trades: "read",
      rebuild: "write",
    },
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

/** The nature of an agent's tool as the manifest states it; undefined for a tool it does not list. */
export function toolNature(agent: string, tool: string): ToolNature | undefined {
  return findAgent(agent)?.tools[tool];
}
