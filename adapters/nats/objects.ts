import { createHash } from "node:crypto";
import type { ObjectInfo, ObjectStore } from "@nats-io/obj";
import type { Bus } from "./bus.ts";

export interface ReadObjectOptions {
  /** Milliseconds without a chunk after which a many-chunk read is taken as stranded. Default 2 000. */
  idleMs?: number;
  /** Reads tried before giving up. Default 5. */
  attempts?: number;
  /** Called after a stranded read, before the next attempt (tests). */
  onStall?: (attempt: number) => void | Promise<void>;
}

/**
 * Reads an object's bytes (null when there is none), safe against a concurrent overwrite. nats.js's
 * `getBlob` reads the object's info, then subscribes to the chunks that info names; a put replacing
 * the object in between purges those chunks, and the read then waits for them forever. Objects that
 * change while they are read (a backtest run's status) go through here:
 *   - a one-chunk object (the usual small JSON document) is read with one direct get of its chunk;
 *     a chunk gone is known at once, and the read starts again from the object's current info;
 *   - a bigger one is streamed, and a stream that delivers nothing for `idleMs` is cancelled and
 *     started again the same way.
 * The bytes are checked against the object's SHA-256 digest.
 */
export async function readObject(
  bus: Bus,
  spec: { bucket: string },
  name: string,
  options: ReadObjectOptions = {},
): Promise<Uint8Array | null> {
  const store = await bus.objectStore(spec);
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const info = await store.info(name);
    if (info === null || info.deleted) return null;
    const bytes = await readOnce(bus, spec.bucket, store, info, options.idleMs ?? 2_000);
    if (bytes !== undefined) {
      if (!digestMatches(info, bytes)) throw new Error(`object ${name} does not match its digest`);
      return bytes;
    }
    if (attempt >= attempts)
      throw new Error(`object ${name} could not be read: its chunks were gone on each of ${attempts} reads`);
    await options.onStall?.(attempt);
  }
}

/** The bytes `info` names; undefined when its chunks are gone (the object was replaced meanwhile). */
function readOnce(
  bus: Bus,
  bucket: string,
  store: ObjectStore,
  info: ObjectInfo,
  idleMs: number,
): Promise<Uint8Array | undefined> {
  if (info.size === 0) return Promise.resolve(new Uint8Array(0));
  if (info.chunks === 1 && info.options?.link === undefined) return oneChunk(bus, bucket, info);
  return streamed(store, info.name, idleMs);
}

/** The only chunk of an object; undefined when it was purged (the object was replaced). */
async function oneChunk(bus: Bus, bucket: string, info: ObjectInfo): Promise<Uint8Array | undefined> {
  const msg = await bus.jsm.streams.getMessage(`OBJ_${bucket}`, {
    last_by_subj: `$O.${bucket}.C.${info.nuid}`,
  });
  return msg === null ? undefined : msg.data;
}

/** The object streamed chunk by chunk; undefined when nothing arrived for `idleMs`. */
async function streamed(store: ObjectStore, name: string, idleMs: number): Promise<Uint8Array | undefined> {
  const got = await store.get(name);
  if (got === null) return undefined;
  const reader = got.data.getReader();
  const chunks: Uint8Array[] = [];
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<"idle">((resolve) => {
      timer = setTimeout(() => resolve("idle"), idleMs);
    });
    const next = await Promise.race([reader.read(), idle]);
    clearTimeout(timer);
    if (next === "idle") {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    if (next.done) break;
    chunks.push(next.value);
  }
  const err = await got.error;
  if (err) throw err;
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  return bytes;
}

/** nats.js writes `SHA-256=<base64url, padded>`. */
function digestMatches(info: ObjectInfo, bytes: Uint8Array): boolean {
  const expected = info.digest.replace(/^SHA-256=/, "").replace(/=+$/, "");
  return createHash("sha256").update(bytes).digest("base64url") === expected;
}
