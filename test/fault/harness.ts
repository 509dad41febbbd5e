import { type ChildProcess, spawn } from "node:child_process";
import { DeliverPolicy } from "@nats-io/jetstream";
import type { Bus } from "../../adapters/nats/bus.ts";
import { manifest } from "../../core/agents/manifest.ts";
import { agentProcess } from "../../core/agents/process.ts";
import type { EventEnvelope } from "../../core/protocol/envelope.ts";
import { streams, subjects } from "../../core/subjects.ts";
import { eventually } from "../nats.ts";

/**
 * The fault suite's harness: the system started the way `npm start` starts it (`infra/local/start.ts`
 * in its own process, on an external nats-server so the test can kill either), a client streaming
 * orders over HTTP that retries a refused or unanswered order with the same client order id (as a
 * careful client does), and the tally of what EVENTS holds.
 */
export interface SystemProcess {
  child: ChildProcess;
  output: () => string;
}

export const portOf = (name: string, offset: number) =>
  (manifest.find((a) => a.name === name) as { port: number }).port + offset;

export async function startSystemProcess(env: NodeJS.ProcessEnv, offset: number): Promise<SystemProcess> {
  let output = "";
  const child = spawn(process.execPath, ["--import", "tsx", "infra/local/start.ts"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const sys = { child, output: () => output };
  await waitReady(sys, offset);
  return sys;
}

/**
 * Until the whole system is up: the exchange, risk and the coordinator ready, and the trigger (which
 * serves its /health once every function has started). A scenario's fault then meets a running
 * system, not one half-way through its start.
 */
export async function waitReady(sys: SystemProcess, offset: number, timeoutMs = 150_000): Promise<void> {
  const urls = [
    ...["exchange", "risk", "coordinator"].map((a) => `http://127.0.0.1:${portOf(a, offset)}/ready`),
    `http://127.0.0.1:${agentProcess.triggerPort + offset}${agentProcess.healthPath}`,
  ];
  const exited = () => sys.child.exitCode !== null || sys.child.signalCode !== null;
  for (const url of urls) {
    await eventually(async () => exited() || (await fetch(url)).status === 200, timeoutMs, url).catch(
      (err: unknown) => {
        throw new Error(`${String(err)}\n--- system output ---\n${sys.output().slice(-4_000)}`);
      },
    );
    if (exited())
      throw new Error(
        `the system exited (${sys.child.exitCode ?? sys.child.signalCode}) while starting\n--- system output ---\n${sys.output().slice(-4_000)}`,
      );
  }
}

/**
 * Waits until the exchange has every event it acknowledged stored in JetStream: an order is answered
 * once its events are in the exchange's journal (docs/exchange.md), and JetStream takes them after —
 * after a nats-server restart, with the publisher's backoff. Read from the exchange's own gauge
 * `bot4_exchange_events_pending` (trade events not yet acked by JetStream).
 */
export async function waitStored(offset: number, timeoutMs = 60_000): Promise<void> {
  const url = `http://127.0.0.1:${portOf("exchange", offset)}/metrics`;
  await eventually(
    async () => /^bot4_exchange_events_pending(\{[^}]*\})? 0$/m.test(await (await fetch(url)).text()),
    timeoutMs,
    "the exchange's journal to be stored in JetStream (bot4_exchange_events_pending 0)",
  );
}

export function kill9(sys: SystemProcess): Promise<void> {
  return new Promise((resolve) => {
    if (sys.child.exitCode !== null) return resolve();
    sys.child.once("exit", () => resolve());
    sys.child.kill("SIGKILL");
  });
}

export interface StreamResult {
  sent: number;
  acknowledged: Set<string>;
  refusals: number;
}

/**
 * Sends `n` market orders (buy and sell alternating) one after another; an order that is refused with
 * 503, times out or meets a closed port is sent again with the same client order id until it is
 * answered 200 (one that the venue confirmed it never received is placed under a new id, `<id>-r`).
 * `faults[i]` starts just before order i (not awaited: orders keep flowing), after any earlier fault.
 */
export interface StreamOptions {
  url: () => string;
  prefix: string;
  n: number;
  venue?: string;
  account?: string;
  amount?: number;
  faults?: Record<number, () => Promise<void>>;
  deadlineMs?: number;
  /** What the system printed, for the message of an order that is never acknowledged. */
  output?: () => string;
}

export async function streamOrders(o: StreamOptions): Promise<StreamResult> {
  const acknowledged = new Set<string>();
  let refusals = 0;
  const deadline = Date.now() + (o.deadlineMs ?? 240_000);
  // Faults run one after another (a second restart waits until the first one's system is up, or it
  // would kill a process that is already dead while the new one is still starting); a fault that
  // fails (a restart that never comes up) ends the stream at once, with its reason.
  let faults: Promise<void> = Promise.resolve();
  let faultFailure: unknown;
  const failedFault = () => faultFailure;
  for (let i = 0; i < o.n; i++) {
    const fault = o.faults?.[i];
    if (fault !== undefined)
      faults = faults.then(fault).catch((err: unknown) => {
        faultFailure = err;
      });
    const sent = await sendUntilAnswered(o, i, deadline, failedFault);
    acknowledged.add(sent.id);
    refusals += sent.refusals;
  }
  await faults;
  if (faultFailure !== undefined) throw faultFailure;
  return { sent: o.n, acknowledged, refusals };
}

type Answer = "acknowledged" | "never-reached" | "retry";

/** One try of one order: acknowledged, final (never reached the venue: place it anew), or to retry. */
async function tryOnce(url: string, body: string, id: string): Promise<{ answer: Answer; last: string }> {
  try {
    const res = await fetch(`${url}/tools/submit_order`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    const last = `${res.status} ${text.slice(0, 300)}`;
    if (res.status === 200) return { answer: "acknowledged", last };
    // An order whose outcome was unknown and that the venue confirmed it never received is final
    // (rejected): the client places it again under a new client order id.
    if (res.status === 422 && text.includes("never reached the venue"))
      return { answer: "never-reached", last };
    if (res.status !== 503 && res.status !== 504) throw new OrderRefused(`order ${id}: ${last}`);
    return { answer: "retry", last };
  } catch (err) {
    if (err instanceof OrderRefused) throw err;
    return {
      answer: "retry",
      last: String(err instanceof Error && err.cause !== undefined ? err.cause : err),
    };
  }
}

class OrderRefused extends Error {}

function notAcknowledged(o: StreamOptions, id: string, last: string): Error {
  const output = o.output === undefined ? "" : `\n--- system output ---\n${o.output()}`;
  return new Error(`order ${id} not acknowledged before the deadline; its last answer: ${last}${output}`);
}

/** Order i as submit_order takes it: buy and sell alternate. */
function orderBody(o: StreamOptions, i: number, id: string): string {
  return JSON.stringify({
    symbol: "BTC/USDT",
    side: i % 2 === 0 ? "buy" : "sell",
    type: "market",
    amount: o.amount ?? 0.001,
    client_order_id: id,
    ...(o.venue === undefined ? {} : { venue: o.venue }),
    ...(o.account === undefined ? {} : { account: o.account }),
  });
}

/** Order i, sent and resent with its client order id until it is answered 200. */
async function sendUntilAnswered(
  o: StreamOptions,
  i: number,
  deadline: number,
  failedFault: () => unknown,
): Promise<{ id: string; refusals: number }> {
  let id = `${o.prefix}-${i}`;
  let refusals = 0;
  let last = "nothing yet";
  for (;;) {
    if (failedFault() !== undefined) throw failedFault();
    if (Date.now() > deadline) throw notAcknowledged(o, id, last);
    const sent = await tryOnce(o.url(), orderBody(o, i, id), id);
    last = sent.last;
    if (sent.answer === "acknowledged") return { id, refusals };
    refusals++;
    if (sent.answer === "never-reached") id = `${id}-r`;
    else await new Promise((r) => setTimeout(r, 150));
  }
}

/** Every trade event EVENTS holds, in order (an ordered consumer). */
export async function tradeEvents(bus: Bus): Promise<EventEnvelope[]> {
  const info = await bus.jsm.streams.info(streams.EVENTS.name, { subjects_filter: subjects.trade.all });
  const held = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  if (held === 0) return [];
  const consumer = await bus.js.consumers.get(streams.EVENTS.name, {
    filter_subjects: subjects.trade.all,
    deliver_policy: DeliverPolicy.All,
  });
  const out: EventEnvelope[] = [];
  const iter = await consumer.consume({ max_messages: 4_096 });
  for await (const m of iter) {
    out.push(m.json<EventEnvelope>());
    if (m.info.pending === 0) break;
  }
  await iter.close();
  return out;
}

export interface Tally {
  acknowledged: number;
  persisted: number;
  lost: number;
  doubled: number;
}

/**
 * Per scenario: an acknowledged order is persisted when EVENTS holds its `order.filled` and its fill;
 * lost otherwise. An order is doubled when EVENTS holds more than one venue order id or more than its
 * amount in fills for one client order id.
 */
export function tally(events: EventEnvelope[], prefix: string, acknowledged: Set<string>): Tally {
  const filled = new Set<string>();
  const venueIds = new Map<string, Set<string>>();
  const fillAmount = new Map<string, number>();
  const amountOf = new Map<string, number>();
  for (const e of events) {
    const d = e.data as { clientOrderId?: string; id?: string; amount?: number; status?: string };
    const cid = d.clientOrderId;
    if (cid === undefined || !cid.startsWith(`${prefix}-`)) continue;
    if (e.type === "fill.executed") fillAmount.set(cid, (fillAmount.get(cid) ?? 0) + (d.amount ?? 0));
    else if (e.type.startsWith("order.")) {
      amountOf.set(cid, d.amount ?? 0);
      if (e.type === "order.filled") filled.add(cid);
      if (d.id !== undefined && d.id !== cid) {
        const ids = venueIds.get(cid) ?? new Set();
        ids.add(d.id);
        venueIds.set(cid, ids);
      }
    }
  }
  let persisted = 0;
  for (const id of acknowledged) if (filled.has(id) && (fillAmount.get(id) ?? 0) > 0) persisted++;
  let doubled = 0;
  for (const [cid, amount] of fillAmount) {
    if ((venueIds.get(cid)?.size ?? 0) > 1 || amount > (amountOf.get(cid) ?? 0) * (1 + 1e-9)) doubled++;
  }
  return { acknowledged: acknowledged.size, persisted, lost: acknowledged.size - persisted, doubled };
}

/** One tool of any agent through the coordinator's JSON-RPC route (`POST /rpc`, `tool.execute`). */
export async function rpc(
  coordinatorUrl: string,
  agent: string,
  tool: string,
  args: unknown,
): Promise<unknown> {
  const res = await fetch(`${coordinatorUrl}/rpc`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: "1", method: "tool.execute", params: { agent, tool, args } }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error !== undefined) throw new Error(`${agent}.${tool}: ${body.error.message}`);
  return body.result;
}

/** What the ledger holds per `venue|symbol` of one account: the open trades' net amount and every fee paid. */
export interface LedgerBook {
  [venueSymbol: string]: { amount: number; fees: number };
}

interface LedgerTrade {
  venue: string;
  symbol: string;
  side: "long" | "short";
  status: "open" | "closed";
  open_qty: number;
  fees_paid: number;
}

/** The ledger's trades of an account, every page, summed per venue and symbol (issue 12.6 against issue 14). */
export async function ledgerBook(coordinatorUrl: string, account: string): Promise<LedgerBook> {
  const book: LedgerBook = {};
  let cursor: string | undefined;
  do {
    const page = (await rpc(coordinatorUrl, "ledger", "get_trades", {
      account,
      limit: 1000,
      ...(cursor !== undefined ? { cursor } : {}),
    })) as { trades: LedgerTrade[]; next_cursor: string | null };
    for (const t of page.trades) {
      const k = `${t.venue}|${t.symbol}`;
      const row = book[k] ?? { amount: 0, fees: 0 };
      if (t.status === "open") row.amount += (t.side === "long" ? 1 : -1) * t.open_qty;
      row.fees += t.fees_paid;
      book[k] = row;
    }
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
  return book;
}
