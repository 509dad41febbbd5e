import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import { z } from "zod";
import { Fill, Order } from "../domain/trading.ts";
import type { Bus } from "../ports/bus.ts";
import { exchangeStateKeys, kvBuckets } from "../subjects.ts";
import { type Columns, decodeColumns, encodeColumns, stringifyColumns } from "./columns.ts";
import { TradeFold } from "./trade-fold.ts";

/**
 * The exchange's recovery snapshot in KV `bot4_exchange_state`: a {@link TradeFold} (the latest state
 * of every order and every fill, in insertion order) up to an EVENTS sequence, so a start loads it and
 * replays only the events after that sequence.
 *
 * Layout: gzipped JSON `{orders, fills}`, each a column set (columns.ts: one array per field, small
 * strings dictionary-coded — a fifth of the bytes of one object per record, and parsed that much
 * faster), cut into chunks of 512 KiB (KV values stay under the 1 MB
 * message limit) under `snapshot.<slot>.<n>`, then `snapshot.meta` naming the slot, the chunk count,
 * the byte count and SHA-256 of the chunks, the sequence covered and the EVENTS stream it belongs to
 * (name and creation time). Two slots, `a` and `b`, alternate: a snapshot is written into the slot the
 * current meta does not name and the meta is written last, so a crash mid-write leaves the previous
 * snapshot whole. A snapshot is only used when it is whole (digest), readable (zod), of this format
 * and of the same stream (a recreated EVENTS has another creation time); `load` says why otherwise.
 * The body's records are not re-validated one by one (the digest proves the bytes are the ones this
 * format wrote from validated events): the first and last order and fill are, as a check of the shape.
 */
export const SNAPSHOT_FORMAT = 2;
const CHUNK_BYTES = 512 * 1024;
const SLOTS = ["a", "b"] as const;

export const SnapshotMeta = z.object({
  format: z.number().int(),
  stream: z.string().min(1),
  streamCreated: z.string().min(1),
  seq: z.number().int().nonnegative(),
  slot: z.enum(SLOTS),
  chunks: z.number().int().positive(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  orders: z.number().int().nonnegative(),
  fills: z.number().int().nonnegative(),
  writtenAt: z.number().int(),
});
export type SnapshotMeta = z.infer<typeof SnapshotMeta>;

interface SnapshotBody {
  orders: Order[];
  fills: Fill[];
}

/** The EVENTS stream a snapshot is checked against. */
export interface StreamIdentity {
  name: string;
  created: string;
  /** The stream's last sequence now. */
  lastSeq: number;
}

/** Why a snapshot is not used. */
export interface Problem {
  problem: "absent" | "corrupted" | "incompatible";
  reason: string;
}

export type SnapshotLoad = { fold: TradeFold; meta: SnapshotMeta } | Problem;

/** The KV operations the store uses (the bucket `Bus.kv` opens has them). */
export interface SnapshotKv {
  get(key: string): Promise<{ operation: string; value: Uint8Array } | null>;
  put(key: string, value: Uint8Array | string): Promise<unknown>;
}

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const decoder = new TextDecoder();

export class SnapshotStore {
  constructor(private readonly kv: SnapshotKv) {}

  static async open(bus: Bus): Promise<SnapshotStore> {
    return new SnapshotStore(await bus.kv(kvBuckets.exchangeState));
  }

  /** The current snapshot's metadata, if one is readable. */
  async meta(): Promise<SnapshotMeta | undefined> {
    const entry = await this.kv.get(exchangeStateKeys.meta);
    if (entry === null || entry.operation !== "PUT") return undefined;
    const parsed = SnapshotMeta.safeParse(safeJson(decoder.decode(entry.value)));
    return parsed.success ? parsed.data : undefined;
  }

  /**
   * The snapshot as a fold, or why it cannot be used (the caller then replays all of EVENTS). With
   * `fillsOnly` (risk: its book is made of fills) the orders are not decoded and the fold holds none.
   */
  async load(stream: StreamIdentity, options: { fillsOnly?: boolean } = {}): Promise<SnapshotLoad> {
    const meta = await this.readMeta(stream);
    if ("problem" in meta) return meta;
    const body = await this.readBody(meta, options.fillsOnly === true);
    if ("problem" in body) return body;
    return { fold: TradeFold.of(meta.seq, body.orders, body.fills), meta };
  }

  /** The metadata, checked: readable, of this format, of this stream, not past its end. */
  private async readMeta(stream: StreamIdentity): Promise<SnapshotMeta | Problem> {
    const entry = await this.kv.get(exchangeStateKeys.meta);
    if (entry === null || entry.operation !== "PUT")
      return { problem: "absent", reason: "no snapshot stored" };
    const raw = safeJson(decoder.decode(entry.value));
    if (raw === undefined) return { problem: "corrupted", reason: "the snapshot metadata is not JSON" };
    const format = (raw as { format?: unknown }).format;
    if (format !== SNAPSHOT_FORMAT) {
      return {
        problem: "incompatible",
        reason: `snapshot format ${String(format)}; this build reads format ${SNAPSHOT_FORMAT}`,
      };
    }
    const parsed = SnapshotMeta.safeParse(raw);
    if (!parsed.success) {
      return { problem: "corrupted", reason: `unreadable snapshot metadata: ${parsed.error.message}` };
    }
    const meta = parsed.data;
    if (meta.stream !== stream.name || meta.streamCreated !== stream.created) {
      return {
        problem: "incompatible",
        reason: `the snapshot belongs to stream ${meta.stream} created ${meta.streamCreated}; ${stream.name} was created ${stream.created}`,
      };
    }
    if (meta.seq > stream.lastSeq) {
      return {
        problem: "incompatible",
        reason: `the snapshot covers ${stream.name} up to sequence ${meta.seq}, but the stream ends at ${stream.lastSeq}`,
      };
    }
    return meta;
  }

  /** The orders and fills the metadata names: every chunk present, size and digest right, zod-valid. */
  private async readBody(meta: SnapshotMeta, fillsOnly: boolean): Promise<SnapshotBody | Problem> {
    const parts: Uint8Array[] = [];
    for (let n = 0; n < meta.chunks; n++) {
      const chunk = await this.kv.get(exchangeStateKeys.chunk(meta.slot, n));
      if (chunk === null || chunk.operation !== "PUT") {
        return { problem: "corrupted", reason: `chunk ${n} of ${meta.chunks} is missing` };
      }
      parts.push(chunk.value);
    }
    const bytes = Buffer.concat(parts);
    if (bytes.length !== meta.bytes || sha256(bytes) !== meta.sha256) {
      return { problem: "corrupted", reason: "the chunks do not match the snapshot's size and SHA-256" };
    }
    let body: SnapshotBody;
    try {
      body = decodeBody(JSON.parse((await gunzipAsync(bytes)).toString("utf8")), fillsOnly);
    } catch (err) {
      return { problem: "corrupted", reason: `unreadable snapshot body: ${(err as Error).message}` };
    }
    if ((!fillsOnly && body.orders.length !== meta.orders) || body.fills.length !== meta.fills) {
      return { problem: "corrupted", reason: "the snapshot's orders or fills do not match its metadata" };
    }
    return body;
  }

  /** Writes the fold as the current snapshot (into the free slot, then the meta). */
  async save(fold: TradeFold, stream: Pick<StreamIdentity, "name" | "created">): Promise<SnapshotMeta> {
    // Read in one synchronous step, so the content and its sequence belong together.
    const seq = fold.seq;
    const counts = { orders: fold.orders.size, fills: fold.fills.size };
    const orders = await stringifyColumns(await encodeColumns(fold.orders.values()));
    const fills = await stringifyColumns(await encodeColumns(fold.fills.values()));
    const json = `{"orders":${orders},"fills":${fills}}`;
    const bytes = await gzipAsync(json, { level: 1 });
    const current = await this.meta();
    const slot = current?.slot === "a" ? "b" : "a";
    const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
    for (let n = 0; n < chunks; n++) {
      await this.kv.put(
        exchangeStateKeys.chunk(slot, n),
        bytes.subarray(n * CHUNK_BYTES, (n + 1) * CHUNK_BYTES),
      );
    }
    const meta: SnapshotMeta = {
      format: SNAPSHOT_FORMAT,
      stream: stream.name,
      streamCreated: stream.created,
      seq,
      slot,
      chunks,
      bytes: bytes.length,
      sha256: sha256(bytes),
      ...counts,
      writtenAt: Date.now(),
    };
    await this.kv.put(exchangeStateKeys.meta, JSON.stringify(meta));
    return meta;
  }
}

/** The orders and fills of a parsed body; throws when it is not two column sets of orders and fills. */
function decodeBody(raw: unknown, fillsOnly: boolean): SnapshotBody {
  const body = raw as { orders?: Columns; fills?: Columns };
  if (typeof body !== "object" || body === null || body.orders === undefined || body.fills === undefined) {
    throw new Error("not {orders, fills}");
  }
  const orders = fillsOnly ? [] : decodeColumns<Order>(body.orders);
  const fills = decodeColumns<Fill>(body.fills);
  if (typeof orders === "string") throw new Error(`orders: ${orders}`);
  if (typeof fills === "string") throw new Error(`fills: ${fills}`);
  for (const o of [orders[0], orders[orders.length - 1]]) if (o !== undefined) Order.parse(o);
  for (const f of [fills[0], fills[fills.length - 1]]) if (f !== undefined) Fill.parse(f);
  return { orders, fills };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
