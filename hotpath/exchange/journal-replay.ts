import { join } from "node:path";
import { DeliverPolicy } from "@nats-io/jetstream";
import type { Bus } from "../../adapters/nats/bus.ts";
import type { Config } from "../../core/config.ts";
import { kvBuckets, streams, subjects } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { Journal, type JournalContents, type JournalEntry } from "./journal.ts";
import { releaseJournalDir, takeJournalDirs } from "./journal-dir.ts";

/** What the start-up replay of the journal did. */
export interface JournalReplay {
  /** Entries after the last ack mark (JetStream may not hold them). */
  unacked: number;
  /** Of those, found in EVENTS already (stored before the process died) and not sent again. */
  present: number;
  /** Published to JetStream now. */
  replayed: number;
  /** Torn records dropped when reading the journal. */
  torn: number;
  ms: number;
}

const WINDOW = 256;
const STALL_MS = 5_000;
const RETRY_FOR_MS = 30_000;

/**
 * Puts into JetStream every journal entry it may not hold, before the exchange reads EVENTS or takes
 * an order: the entries after the journal's last ack mark. Whether EVENTS has one is checked by its
 * id among the `events.trade.>` messages after the mark's EVENTS sequence (every entry after the mark
 * can only have been stored after it), so the replay is exactly once however long the exchange was
 * down — it does not rely on the stream's duplicate window (its Nats-Msg-Id still dedups a race).
 * Missing entries are published in journal order, and their positions KV entries written; then the
 * journal is marked acked up to the stream's last sequence and compacted. Throws when JetStream does
 * not store them within 30 s: the exchange then does not start (it fails closed).
 */
export async function replayJournal(
  bus: Bus,
  journal: Journal,
  contents: JournalContents,
  logger: Logger,
): Promise<JournalReplay> {
  const started = performance.now();
  const unacked = contents.entries.filter((e) => e.j > contents.mark.j);
  let present = 0;
  let missing: JournalEntry[] = [];
  if (unacked.length > 0) {
    const stored = await storedTradeIds(bus, contents.mark.seq);
    missing = unacked.filter((e) => !stored.has(e.msgId));
    present = unacked.length - missing.length;
    await publishInOrder(bus, missing, logger);
    await writePositions(bus, missing, logger);
  }
  const info = await bus.jsm.streams.info(streams.EVENTS.name);
  journal.settle(info.state.last_seq);
  const result = {
    unacked: unacked.length,
    present,
    replayed: missing.length,
    torn: contents.torn,
    ms: performance.now() - started,
  };
  if (unacked.length > 0 || contents.torn > 0)
    logger.info({ ...result, ms: Math.round(result.ms) }, "journal replayed into JetStream");
  return result;
}

/** The ids of the `events.trade.>` messages EVENTS holds after sequence `after`. */
async function storedTradeIds(bus: Bus, after: number): Promise<Set<string>> {
  const ids = new Set<string>();
  const stream = streams.EVENTS.name;
  const last = await bus.jsm.streams.getMessage(stream, { last_by_subj: subjects.trade.all });
  if (last === null || last.seq <= after) return ids;
  const consumer = await bus.js.consumers.get(stream, {
    filter_subjects: subjects.trade.all,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: after + 1,
  });
  const iter = await consumer.consume({ max_messages: 4_096 });
  let stalled = false;
  const stall = setTimeout(() => {
    stalled = true;
    iter.stop();
  }, STALL_MS);
  try {
    for await (const m of iter) {
      stall.refresh();
      const id = m.headers?.get("Nats-Msg-Id");
      if (id !== undefined && id !== "") ids.add(id);
      if (m.seq >= last.seq) break;
    }
  } finally {
    clearTimeout(stall);
    await iter.close();
  }
  if (stalled) throw new Error("journal replay: reading EVENTS stalled; the exchange does not start");
  return ids;
}

/** Publishes in windows (pipelined, stored in order), retrying from the first failure. */
async function publishInOrder(bus: Bus, entries: JournalEntry[], logger: Logger): Promise<void> {
  const deadline = Date.now() + RETRY_FOR_MS;
  let i = 0;
  let attempt = 0;
  while (i < entries.length) {
    const batch = entries.slice(i, i + WINDOW);
    const results = await Promise.allSettled(batch.map((e) => bus.publishEvent(e.event, { msgID: e.msgId })));
    const failed = results.findIndex((r) => r.status === "rejected");
    i += failed < 0 ? batch.length : failed;
    if (failed < 0) continue;
    attempt += 1;
    const err = (results[failed] as PromiseRejectedResult).reason;
    if (Date.now() > deadline)
      throw new Error(`journal replay: JetStream did not store ${batch[failed]?.msgId}`, { cause: err });
    logger.warn({ err, id: batch[failed]?.msgId, attempt }, "journal replay: publish failed; retrying");
    await new Promise((r) => setTimeout(r, Math.min(2_000, 50 * 2 ** attempt)));
  }
}

/** The positions KV entries of replayed position events (the last one per key). */
async function writePositions(bus: Bus, entries: JournalEntry[], logger: Logger): Promise<void> {
  const latest = new Map<string, unknown>();
  for (const e of entries) if (e.positionKey !== undefined) latest.set(e.positionKey, e.event.data);
  if (latest.size === 0) return;
  try {
    const kv = await bus.kv(kvBuckets.positions);
    await Promise.all([...latest].map(([key, data]) => kv.put(key, JSON.stringify(data))));
  } catch (err) {
    logger.warn({ err }, "positions KV not updated after the journal replay (the events are stored)");
  }
}

/** The exchange's journal, replayed: append to `journal`; `close` at stop. */
export interface StartedJournal {
  journal: Journal;
  replay: JournalReplay;
  /** Closes the journal and releases its directory (removed when JetStream holds everything). */
  close(): void;
}

/**
 * The exchange's journal, opened and replayed into JetStream: the first thing the service does. It
 * lives in `BOT4_DATA_DIR/exchange-journal/<EVENTS creation time>/<n>` (journal-dir.ts): a journal
 * belongs to the stream it was written for (a private test server, a wiped store and a new stream each
 * have their own), and each exchange running on it holds its own `<n>`. Journals left by exchanges
 * that are gone are replayed first, then removed.
 */
export async function startJournal(
  bus: Bus,
  config: Pick<Config, "BOT4_DATA_DIR" | "EXCHANGE_JOURNAL_FSYNC">,
  logger: Logger,
): Promise<StartedJournal> {
  const info = await bus.jsm.streams.info(streams.EVENTS.name);
  const base = join(config.BOT4_DATA_DIR, "exchange-journal", info.created.replace(/[^0-9A-Za-z]/g, ""));
  const dirs = takeJournalDirs(base);
  try {
    for (const dir of dirs.orphans) {
      const { journal, contents } = Journal.open({ dir }, logger);
      await replayJournal(bus, journal, contents, logger).finally(() => journal.close());
      releaseJournalDir(dir, journal.settled);
    }
  } catch (err) {
    for (const dir of [dirs.own, ...dirs.orphans]) releaseJournalDir(dir, false);
    throw err;
  }
  const { journal, contents } = Journal.open({ dir: dirs.own, fsync: config.EXCHANGE_JOURNAL_FSYNC }, logger);
  const close = () => {
    journal.close();
    releaseJournalDir(dirs.own, journal.settled);
  };
  try {
    return { journal, replay: await replayJournal(bus, journal, contents, logger), close };
  } catch (err) {
    close();
    throw err;
  }
}
