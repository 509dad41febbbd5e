import type { z } from "zod";
import { findAgent, type ServiceAgent } from "../../core/agents/manifest.ts";
import type { Bus } from "../../adapters/nats/bus.ts";
import { callTool } from "../../adapters/nats/tool-transport.ts";
import type { Config } from "../../core/config.ts";
import { Candle, Signal } from "../../core/domain/market.ts";
import { OrderWithFillsWire, withFillsFromWire } from "../../core/domain/wire.ts";
import { envelopeOf, events, inputOf } from "../../core/events/catalogue.ts";
import { type Delivery, type FollowFrom, follow as followStream } from "../../adapters/nats/follow.ts";
import { publish } from "../../adapters/nats/publish.ts";
import { streams, subjects } from "../../core/subjects.ts";
import { childWith, type Logger } from "../../core/telemetry/log.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import { startService } from "../kit/service.ts";
import type { RunningService, ServeOptions, ServiceDeps } from "../kit/types.ts";
import { DEFAULT_STRATEGY, StrategyConfig } from "./config.ts";
import { readHistory } from "./history.ts";
import { type OrderPort, StrategyHost, type SubmitResult } from "./host.ts";
import { strategyMetrics, type StrategyMetrics } from "./metrics.ts";
import { KvInstanceStore } from "./store.ts";
import { strategyTools } from "./tools.ts";

const agent = findAgent("strategy") as ServiceAgent;
/** What the strategies take from the trade events: fills and order changes. */
const TradeInput = inputOf({ fill: [events.fill], order: Object.values(events.order) });

/** Test and bench hooks; the launcher passes none. */
export interface StrategyServiceOptions {
  /** Overrides STRATEGY_DEFAULT. */
  defaultStrategy?: string;
  /** ms between saves of changed instances (default 2 000) and timer ticks (default 1 000). */
  saveEveryMs?: number;
  timerEveryMs?: number;
  /** Exchange call timeout (ms, default 5 000). */
  orderTimeoutMs?: number;
  onHost?: (host: StrategyHost) => void;
  /** Every order answer (the bench measures tick → order with it). */
  onOrderResult?: (strategyId: string, clientOrderId: string, result: SubmitResult | Error) => void;
}

/** The exchange's submit_order arguments (snake_case, with strategy_id) for one strategy order. */
export const submitOrderArgs = (...[cmd, where]: Parameters<OrderPort["submit"]>) => ({
  venue: where.venue,
  account: where.account,
  symbol: cmd.symbol,
  side: cmd.side,
  type: cmd.type,
  amount: cmd.amount,
  client_order_id: cmd.clientOrderId,
  strategy_id: cmd.strategyId,
});

/** The exchange over NATS: submit_order (with strategy_id, so its pre-trade check applies) and get_order. */
export function exchangeOrderPort(bus: Bus, timeout = 5_000): OrderPort {
  return {
    async submit(cmd, where): Promise<SubmitResult> {
      const answer = await callTool(bus, "exchange", "submit_order", submitOrderArgs(cmd, where), {
        timeout,
      });
      return withFillsFromWire(OrderWithFillsWire.parse(answer));
    },
    async lookup(venue, clientOrderId) {
      try {
        const answer = await callTool(
          bus,
          "exchange",
          "get_order",
          { venue, client_order_id: clientOrderId },
          { timeout },
        );
        return withFillsFromWire(OrderWithFillsWire.parse(answer));
      } catch (err) {
        if (err instanceof ToolError && err.code === -32003) return undefined;
        throw err;
      }
    },
  };
}

/** The largest position notional the risk limits allow one account: MAX_POSITION_SIZE × its equity. */
export function riskCap(config: Config): number {
  const equity = config.RISK_INITIAL_EQUITY ?? config.PAPER_BALANCES.USDT ?? config.COMPLIANCE_ACCOUNT_EQUITY;
  return config.MAX_POSITION_SIZE * equity;
}

function defaultConfig(spec: string): StrategyConfig | undefined {
  if (spec === "off") return undefined;
  const raw: unknown = spec === "default" ? DEFAULT_STRATEGY : JSON.parse(spec);
  const parsed = StrategyConfig.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `STRATEGY_DEFAULT is not a strategy config: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}

/**
 * The StrategyEngine service (`strategy`, :8084): hosts strategy instances on the shared kernel
 * (core/strategy/kernel.ts), fed closed candles from MARKET, signals and its own fills and orders from
 * EVENTS; every order goes to the exchange's submit_order over NATS. Instances and their books live in
 * KV (`bot4_strategies`) and resume after a restart.
 */
export function start(deps: ServiceDeps, options?: ServeOptions): Promise<RunningService> {
  return startStrategy(deps, options);
}

export async function startStrategy(
  deps: ServiceDeps,
  options: ServeOptions = {},
  so: StrategyServiceOptions = {},
): Promise<RunningService> {
  const { bus, config } = deps;
  const logger = childWith(deps.logger, { agent: agent.name });
  const liveFrom = Date.now();
  const store = await KvInstanceStore.open(bus, logger);
  let metrics: StrategyMetrics | undefined;
  const host = new StrategyHost({
    orders: exchangeOrderPort(bus, so.orderTimeoutMs),
    clock: Date.now,
    logger,
    store,
    maxNotional: riskCap(config),
    onOrder: (inst, cmd, result) => {
      so.onOrderResult?.(inst.config.id, cmd.clientOrderId, result);
      const outcome = result instanceof Error ? "error" : result.order.status;
      metrics?.orders.inc({ strategy: inst.config.id, outcome });
      logger.info(
        {
          strategy: inst.config.id,
          symbol: cmd.symbol,
          side: cmd.side,
          amount: cmd.amount,
          reason: cmd.reason,
          clientOrderId: cmd.clientOrderId,
          outcome,
          ...(result instanceof Error ? { error: result.message } : { fills: result.fills.length }),
        },
        "strategy order",
      );
    },
    onFill: (inst) => {
      metrics?.fills.inc({ strategy: inst.config.id });
    },
  });
  so.onHost?.(host);

  // Restore, then the default paper strategy when there is none of that id.
  for (const inst of await store.load()) host.add(inst);
  const restored = host.list();
  const fallback = defaultConfig(so.defaultStrategy ?? config.STRATEGY_DEFAULT);
  if (fallback !== undefined && !host.instances.has(fallback.id)) {
    await host.create(fallback);
    logger.info(
      { strategy: fallback.id, kind: fallback.strategy.kind },
      "created the default paper strategy",
    );
  }
  for (const inst of restored) {
    logger.info(
      {
        strategy: inst.config.id,
        status: inst.status,
        positions: inst.positions(),
        unprotected: inst.unprotected,
      },
      inst.unprotected
        ? "strategy restored: its position is UNPROTECTED (stopped or paused)"
        : "strategy restored",
    );
  }

  const stoppers: (() => Promise<void>)[] = [];
  const follow = async <T>(
    stream: string,
    filter: string,
    from: FollowFrom,
    schema: z.ZodType<T>,
    handle: (value: T, d: Delivery) => void,
  ) => {
    const f = await followStream(bus, stream, filter, schema, handle, {
      logger,
      from,
      name: `strategy ${filter}`,
    });
    stoppers.push(() => f.stop());
  };
  // Fills and orders first (from the oldest save, so what happened while down is applied, deduplicated).
  const oldest = Math.min(liveFrom, ...restored.map((i) => i.updatedAt));
  await follow(
    streams.EVENTS.name,
    subjects.trade.all,
    restored.length > 0 ? { time: oldest - 60_000 } : "new",
    TradeInput,
    (e) => {
      if (e.kind === "fill") host.onFill(e.data);
      else if (e.kind === "order") host.onOrder(e.data);
    },
  );
  await follow(streams.EVENTS.name, subjects.events.signals, "new", envelopeOf(events.signal), (e) =>
    host.onSignal(e.data),
  );
  await follow(
    streams.MARKET.name,
    subjects.market.allOfKind("candle"),
    "all",
    envelopeOf(events.candle),
    (e, d) => {
      const started = performance.now();
      host.onCandle(e.data, d.time, liveFrom);
      metrics?.decisionSeconds.observe((performance.now() - started) / 1000);
    },
  );
  void host.reconcile().catch((err: unknown) => logger.warn({ err }, "reconcile failed"));

  const saver = setInterval(() => {
    void host.persistAll().catch((err: unknown) => logger.warn({ err }, "strategy save failed"));
  }, so.saveEveryMs ?? 2_000);
  saver.unref();
  const timer = setInterval(() => host.onTimer(), so.timerEveryMs ?? 1_000);
  timer.unref();

  const announce = async (
    action: string,
    inst: ReturnType<StrategyHost["get"]>,
    ctx: { correlationId: string; requestId: string; transport: string },
    extra: Record<string, unknown> = {},
  ) => {
    await publish(bus, events.strategy, {
      source: agent.name,
      id: [inst.config.id, action, inst.revision],
      correlationid: ctx.correlationId,
      causationid: ctx.requestId,
      data: {
        action,
        id: inst.config.id,
        status: inst.status,
        config: inst.config,
        revision: inst.revision,
        transport: ctx.transport,
        ...extra,
      },
    });
  };

  try {
    return await startService(
      {
        agent,
        registry: createToolRegistry(
          agent.name,
          strategyTools({
            host,
            announce,
            candles: (a) =>
              readHistory(bus, streams.MARKET.name, subjects.market.of(a.venue, "candle", a.symbol), Candle, {
                limit: a.limit,
                ...(a.since !== undefined ? { since: a.since } : {}),
              }).then((cs) => cs.filter((c) => c.timeframe === a.timeframe)),
            signals: (a) =>
              readHistory(bus, streams.EVENTS.name, subjects.events.signal(a.symbol), Signal, {
                limit: a.limit,
                since: a.since ?? Date.now() - 3_600_000,
              }),
          }),
        ),
        metrics: (registry) => {
          metrics = strategyMetrics(registry, host);
        },
        onStop: async () => {
          clearInterval(saver);
          clearInterval(timer);
          for (const stop of stoppers.splice(0)) await stop();
          await host.settle();
          await host.persistAll();
        },
      },
      deps,
      options,
    );
  } catch (err) {
    clearInterval(saver);
    clearInterval(timer);
    for (const stop of stoppers.splice(0)) await stop();
    throw err;
  }
}

export type { Logger };
