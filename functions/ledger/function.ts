import type { Config } from "../../core/config.ts";
import { defineFunction, type FunctionDefinition } from "../../core/functions/contract.ts";
import type { LedgerStore } from "../../core/ports/ledger-store.ts";
import { type LedgerInbound, LedgerInput, toLedgerEvent } from "./events.ts";
import { closeSharedLedgerStores, sharedLedgerStore } from "./sql/open.ts";
import { ledgerTools } from "./tools.ts";

/**
 * TradeLedger: consumes everything on events.trade.> and projects orders, fills, positions and
 * trades into SQL. It is a sink: its only effect is the projection, applied through the LedgerStore
 * port in one transaction per batch (idempotent by event id), so it returns no events and keeps no
 * trigger state — the database is its state. The trigger acks the batch only after `handle`
 * resolved, that is after the commit (docs/ledger.md).
 */
/** Most events per ledger batch (the trigger's TRIGGER_BATCH_SIZE does not apply to the ledger). */
export const LEDGER_BATCH_SIZE = 1_000;

export function createLedgerFunction(
  store: (config: Config) => Promise<LedgerStore>,
  close?: () => Promise<void>,
): FunctionDefinition<LedgerInbound, undefined> {
  return defineFunction<LedgerInbound>({
    ...(close !== undefined ? { close } : {}),
    name: "ledger",
    input: LedgerInput,
    // A batch is one SQL transaction whose fixed cost (begin, lock, statements) is shared by its
    // events: 1,000 a batch projects ≈ 1.7× the fills per CPU-second of 256 into PGlite.
    batchSize: LEDGER_BATCH_SIZE,
    tools(deps) {
      // Opening starts now, in the background: a first PGlite open creates the database (seconds).
      store(deps.config).catch((err: unknown) =>
        deps.logger.error({ err }, "the ledger's store failed to open"),
      );
      return ledgerTools({ config: deps.config, store: () => store(deps.config), bus: deps.bus });
    },
    // The host awaits this before the function counts as running (and `npm start` says it is up): a
    // ledger whose store is still being created (tens of seconds on a busy machine) cannot answer a read.
    async background(deps) {
      await store(deps.config).catch(() => undefined); // logged where the opening started (tools)
      return { stop: async () => {} };
    },
    async handle(batch, ctx) {
      const s = await store(ctx.config);
      const result = await s.apply(batch.map((m) => toLedgerEvent(m.event, m.seq)));
      ctx.logger.debug({ ...result, messages: batch.length }, "ledger batch committed");
      return {};
    },
  });
}

export const definition = createLedgerFunction(sharedLedgerStore, closeSharedLedgerStores);
