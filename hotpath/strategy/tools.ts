import { z } from "zod";
import { Candle, Signal, Timeframe } from "../../core/domain/market.ts";
import { TimeMs } from "../../core/domain/bounds.ts";
import { StrategyId } from "../../core/domain/trading.ts";
import { KernelSizingSpec, ProtectionsSpec } from "../../core/strategy/kernel-spec.ts";
import { StrategySpec, strategyKinds } from "../../core/strategy/spec.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { ToolError, zodIssues } from "../../core/tools/errors.ts";
import { snakeKey, snakeTool } from "../../core/tools/snake.ts";
import { defineTool, type Tool, type ToolContext } from "../../core/tools/tool.ts";
import { AccountArg, StrategyConfig, SymbolArg, VenueArg } from "./config.ts";
import type { StrategyHost } from "./host.ts";
import type { StrategyInstance } from "./instance.ts";

/**
 * The strategy agent's tools, snake_case on the wire (core/tools/snake.ts maps the catalogue's
 * camelCase names, core/strategy/spec.ts `allowShort`, to `allow_short` and back, as backtests do).
 * Every change is validated whole before anything changes, then saved (KV, compare-and-set) and
 * announced as `strategy.changed` on events.trade.control.strategy, which compliance records on AUDIT.
 */
export interface StrategyToolDeps {
  host: StrategyHost;
  /** Announces a change (the AUDIT trail). */
  announce: (
    action: string,
    inst: StrategyInstance,
    ctx: ToolContext,
    extra?: Record<string, unknown>,
  ) => Promise<void>;
  candles: (a: {
    venue: string;
    symbol: string;
    timeframe: string;
    limit: number;
    since?: number;
  }) => Promise<Candle[]>;
  signals: (a: { symbol: string; limit: number; since?: number }) => Promise<Signal[]>;
}

const invalid = (message: string, issues: { path: string; message: string; code: string }[]) =>
  new ToolError(RpcCode.InvalidParams, message, { issues });

/** Parses with a schema; failures are -32602 naming each field under `prefix`. */
function parseOr<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix: string,
  message: string,
): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const wire = (path: string) => snakeKey([prefix, path].filter((p) => p !== "").join("."));
  throw invalid(
    `${message}: ${r.error.issues.map((i) => `${wire(i.path.map(String).join("."))}: ${i.message}`).join("; ")}`,
    zodIssues(r.error).map((i) => ({ ...i, path: wire(i.path) })),
  );
}

/** The params of a kind, parsed; a key the kind does not know is refused (a typo must not pass silently). */
function parseParams(kind: string, params: Record<string, unknown>, base: Record<string, unknown> = {}) {
  const strategy = parseOr(StrategySpec, { ...base, ...params, kind }, "params", "invalid strategy params");
  const unknown = Object.keys(params).filter((k) => !(k in strategy) || k === "kind");
  if (unknown.length > 0) {
    throw invalid(
      `invalid strategy params: ${unknown.map((k) => `params.${snakeKey(k)}: not a parameter of ${kind}`).join("; ")}`,
      unknown.map((k) => ({
        path: `params.${snakeKey(k)}`,
        message: `not a parameter of ${kind}`,
        code: "unrecognized_keys",
      })),
    );
  }
  return strategy;
}

/**
 * The params a create or update may name: every parameter of the catalogue's kinds, each optional, no
 * other key (the schema says so, a typo is refused naming it); the kind's own spec then refuses a
 * parameter of another kind, naming it.
 */
const ParamFields = z
  .object(
    Object.fromEntries(
      StrategySpec.options.flatMap((spec) =>
        Object.entries(spec.shape)
          .filter(([k]) => k !== "kind")
          .map(([k, v]) => [k, ((v instanceof z.ZodDefault ? v.unwrap() : v) as z.ZodType).optional()]),
      ),
    ),
  )
  .strict() as unknown as z.ZodRecord<z.ZodString, z.ZodUnknown>;
const Params = ParamFields.default({});

const Id = z.object({ id: StrategyId }).strict();

const PositionOut = z.object({
  symbol: z.string(),
  amount: z.number(),
  averagePrice: z.number(),
  mark: z.number(),
  realizedPnl: z.number().describe("the symbol's closed round trips, after fees"),
  unrealizedPnl: z.number().describe("the open position at the mark, after its entry fees"),
  entryTs: z.number().optional(),
  protected: z.boolean(),
  protections: z.array(z.string()),
});
const DecisionOut = z.object({
  symbol: z.string(),
  ts: z.number(),
  reason: z.string(),
  target: z.number(),
  desired: z.number(),
  detail: z.string().optional(),
  clientOrderId: z.string().optional(),
  side: z.enum(["buy", "sell"]).optional(),
  amount: z.number().optional(),
});
const Summary = z.object({
  id: z.string(),
  kind: z.string(),
  status: z.enum(["running", "paused", "stopped"]),
  account: z.string(),
  venue: z.string(),
  symbols: z.array(z.string()),
  capital: z.number(),
  orders: z.number().int(),
  fills: z.number().int(),
  positions: z.array(PositionOut),
  unprotected: z.boolean(),
});
const Profit = z.object({
  id: z.string(),
  realizedPnl: z.number().describe("closed round trips, after fees"),
  unrealizedPnl: z.number().describe("the open position at the last marks, after its entry fees"),
  fees: z.number(),
  trades: z.number().int(),
  wins: z.number().int(),
  winRate: z.number().nullable(),
  maxDrawdown: z.number().describe("largest fall of equity from its peak, as a fraction"),
  exposure: z.number().describe("|position| × mark, quote"),
  equity: z.number(),
  capital: z.number(),
});

function protectionNames(inst: StrategyInstance): string[] {
  return Object.entries(inst.config.protections)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
}

function summary(inst: StrategyInstance): z.input<typeof Summary> {
  const running = inst.status === "running";
  const names = protectionNames(inst);
  return {
    id: inst.config.id,
    kind: inst.config.strategy.kind,
    status: inst.status,
    account: inst.config.account,
    venue: inst.config.venue,
    symbols: inst.config.symbols,
    capital: inst.config.capital,
    orders: inst.counters.orders,
    fills: inst.counters.fills,
    positions: inst.positions().map((p) => ({ ...p, protected: running, protections: running ? names : [] })),
    unprotected: inst.unprotected,
  };
}

/** create/update input: the config's fields, with the strategy as `kind` + `params`. */
const ConfigFields = {
  account: AccountArg.optional(),
  venue: VenueArg.optional(),
  symbols: z.array(SymbolArg).min(1).max(20).optional(),
  timeframe: Timeframe.optional(),
  capital: z.number().positive().max(1e12).optional(),
  sizing: KernelSizingSpec.optional(),
  protections: ProtectionsSpec.optional(),
  regimes: z.array(z.string().min(1).max(32)).min(1).max(16).optional(),
  amount_step: z.number().positive().max(1).optional(),
};

export function strategyTools(d: StrategyToolDeps): Tool[] {
  const { host } = d;
  const find = (id: string): StrategyInstance => {
    const inst = host.instances.get(id);
    if (inst === undefined) {
      throw invalid(`no strategy "${id}" (list_strategies names them)`, [
        { path: "id", message: `no strategy "${id}"`, code: "not_found" },
      ]);
    }
    return inst;
  };
  const control = (name: string, description: string, status: "running" | "paused" | "stopped") =>
    defineTool({
      name,
      description,
      input:
        status === "stopped"
          ? Id.extend({
              flatten: z
                .boolean()
                .default(false)
                .describe("close the positions first; otherwise they stay, shown as unprotected"),
            })
          : Id,
      output: Summary,
      handler: async (a: { id: string; flatten?: boolean }, ctx) => {
        const inst = find(a.id);
        const previous = inst.status;
        await host.setStatus(a.id, status, a.flatten === true);
        await d.announce(name.replace("_strategy", ""), inst, ctx, { previous });
        return summary(inst);
      },
    });

  return [
    defineTool({
      name: "list_strategies",
      description: "Strategy instances of this agent (status, positions, orders) and the catalogue of kinds.",
      input: z.object({ status: z.enum(["running", "paused", "stopped"]).optional() }),
      output: z.object({ strategies: z.array(Summary), kinds: z.array(z.string()) }),
      handler: (a) => ({
        strategies: host
          .list()
          .filter((i) => a.status === undefined || i.status === a.status)
          .map(summary),
        kinds: [...strategyKinds],
      }),
    }),
    defineTool({
      name: "create_strategy",
      description: `Create a strategy instance: a kind of the catalogue (${strategyKinds.join(", ")}) with its params, bound to an account, venue and symbols, with its own capital, sizing (Kelly from its own trades by default) and protections (stop loss, take profit, trailing stop, time limit, cooldown, max drawdown). Starts at once unless start=false.`,
      input: z
        .object({
          id: StrategyId,
          kind: z.enum(strategyKinds),
          params: Params,
          ...ConfigFields,
          symbols: z.array(SymbolArg).min(1).max(20),
          capital: z.number().positive().max(1e12),
          start: z.boolean().default(true),
        })
        .strict(),
      output: Summary,
      handler: async (a, ctx) => {
        if (host.instances.has(a.id)) {
          throw invalid(`strategy "${a.id}" exists; update_strategy changes it`, [
            { path: "id", message: "exists", code: "duplicate" },
          ]);
        }
        const strategy = parseParams(a.kind, a.params);
        const config = parseOr(
          StrategyConfig,
          {
            id: a.id,
            strategy,
            symbols: a.symbols,
            capital: a.capital,
            ...(a.account !== undefined ? { account: a.account } : {}),
            ...(a.venue !== undefined ? { venue: a.venue } : {}),
            ...(a.timeframe !== undefined ? { timeframe: a.timeframe } : {}),
            ...(a.sizing !== undefined ? { sizing: a.sizing } : {}),
            ...(a.protections !== undefined ? { protections: a.protections } : {}),
            ...(a.regimes !== undefined ? { regimes: a.regimes } : {}),
            ...(a.amount_step !== undefined ? { amountStep: a.amount_step } : {}),
          },
          "",
          "invalid strategy",
        );
        const inst = await host.create(config);
        if (!a.start) await host.setStatus(a.id, "stopped");
        await d.announce("create", inst, ctx);
        return summary(inst);
      },
    }),
    control(
      "start_strategy",
      "Start (or restart) a strategy: it decides on the next candle; positions and statistics are kept.",
      "running",
    ),
    control(
      "stop_strategy",
      "Stop a strategy: no more decisions. With flatten=true its positions are closed first; otherwise they stay and are shown as unprotected (no stop loss or take profit guards them) in get_strategy and the coordinator's /status.",
      "stopped",
    ),
    control(
      "pause_strategy",
      "Pause a strategy: indicators keep warming, no orders; positions are unprotected while paused.",
      "paused",
    ),
    control("resume_strategy", "Resume a paused strategy (also unlocks a max-drawdown lock).", "running"),
    defineTool({
      name: "update_strategy",
      description:
        "Hot-reload a strategy's params, capital, sizing, protections or regimes without a restart (indicators are kept unless the strategy params change). Account, venue, symbols and timeframe are fixed. Recorded on AUDIT.",
      input: z
        .object({
          id: StrategyId,
          params: ParamFields.optional(),
          capital: ConfigFields.capital,
          sizing: ConfigFields.sizing,
          protections: ConfigFields.protections,
          regimes: z.array(z.string().min(1).max(32)).min(1).max(16).nullable().optional(),
        })
        .strict(),
      output: Summary.extend({ changed: z.array(z.string()) }),
      handler: async (a, ctx) => {
        const inst = find(a.id);
        const previous = inst.config;
        const { kind, ...oldParams } = previous.strategy;
        const strategy = a.params === undefined ? previous.strategy : parseParams(kind, a.params, oldParams);
        const next = { ...previous, strategy };
        if (a.capital !== undefined) next.capital = a.capital;
        if (a.sizing !== undefined) next.sizing = a.sizing;
        if (a.protections !== undefined) next.protections = a.protections;
        if (a.regimes === null) delete next.regimes;
        else if (a.regimes !== undefined) next.regimes = a.regimes;
        const config = parseOr(StrategyConfig, next, "", "invalid strategy");
        const changed = (Object.keys(config) as (keyof typeof config)[]).filter(
          (k) => JSON.stringify(config[k]) !== JSON.stringify(previous[k]),
        );
        if (changed.length > 0) {
          await host.update(a.id, config);
          await d.announce("update", inst, ctx, { previous, changed });
        }
        return { ...summary(inst), changed };
      },
    }),
    defineTool({
      name: "get_strategy",
      description:
        "One strategy: config, status, positions (protected or not), open orders, sizing now, and the last decisions with their reasons.",
      input: Id.extend({ decisions: z.number().int().min(0).max(50).default(20) }),
      output: Summary.extend({
        config: StrategyConfig,
        createdAt: z.number(),
        updatedAt: z.number(),
        openOrders: z.array(
          z.object({
            clientOrderId: z.string(),
            symbol: z.string(),
            side: z.enum(["buy", "sell"]),
            amount: z.number(),
            reason: z.string(),
            status: z.string(),
            placedAt: z.number(),
          }),
        ),
        kernels: z.array(
          z.object({
            symbol: z.string(),
            target: z.number(),
            desired: z.number(),
            cash: z.number(),
            position: z.number(),
            fraction: z.number(),
            locked: z.boolean(),
            cooldownUntil: z.number(),
            lastBarTs: z.number(),
            inFlight: z.string().optional(),
            regime: z.string().optional(),
          }),
        ),
        decisions: z.array(DecisionOut),
        profit: Profit,
      }),
      handler: (a) => {
        const inst = find(a.id);
        return {
          ...summary(inst),
          config: inst.config,
          createdAt: inst.createdAt,
          updatedAt: inst.updatedAt,
          openOrders: [...inst.openOrders.values()],
          kernels: [...inst.kernels].map(([symbol, k]) => ({
            symbol,
            target: k.book.target,
            desired: k.book.desired,
            cash: k.book.cash,
            position: k.book.pos,
            fraction: k.fraction(),
            locked: k.book.locked,
            cooldownUntil: k.book.cooldownUntil,
            lastBarTs: k.book.lastBarTs,
            ...(k.book.inFlight !== undefined ? { inFlight: k.book.inFlight } : {}),
            ...(k.book.regime !== undefined ? { regime: k.book.regime } : {}),
          })),
          decisions: a.decisions === 0 ? [] : inst.decisions.slice(-a.decisions),
          profit: { id: inst.config.id, ...inst.profit() },
        };
      },
    }),
    defineTool({
      name: "strategy_profit",
      description:
        "Per strategy: realised PnL after fees, unrealised PnL at the marks, fees, trades, win rate, max drawdown, exposure and equity.",
      input: z.object({ id: StrategyId.optional() }),
      output: z.object({ strategies: z.array(Profit) }),
      handler: (a) => ({
        strategies: (a.id !== undefined ? [find(a.id)] : host.list()).map((i) => ({
          id: i.config.id,
          ...i.profit(),
        })),
      }),
    }),
    defineTool({
      name: "get_candles",
      description: "Closed candles of a symbol from the MARKET stream (newest `limit`, oldest first).",
      input: z.object({
        venue: VenueArg.default("paper"),
        symbol: SymbolArg,
        timeframe: Timeframe.default("1m"),
        limit: z.number().int().min(1).max(1_000).default(100),
        since: TimeMs.optional().describe("only candles stored from this time (ms)"),
      }),
      output: z.object({ candles: z.array(Candle) }),
      handler: async (a) => ({ candles: await d.candles(a) }),
    }),
    defineTool({
      name: "get_signals",
      description:
        "Model signals of a symbol from the EVENTS stream (newest `limit`, oldest first; default the last hour).",
      input: z.object({
        symbol: SymbolArg,
        limit: z.number().int().min(1).max(1_000).default(100),
        since: TimeMs.optional().describe("only signals stored from this time (ms)"),
      }),
      output: z.object({ signals: z.array(Signal) }),
      handler: async (a) => ({ signals: await d.signals(a) }),
    }),
  ].map((t) => snakeTool(t as Tool));
}
