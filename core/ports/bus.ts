/**
 * The bus port: what core's own modules need of the process's message bus. Core calls only `kv`
 * (the exchange-state snapshot and the function-state store keep their records in KV buckets);
 * the NATS adapter (adapters/nats/bus.ts, JetStream, KV and object stores over one connection)
 * implements it, and its other methods are the adapter's own.
 */

/** One entry of a KV bucket: the latest value of a key, or its deletion marker. */
export interface KvEntry {
  readonly operation: "PUT" | "DEL" | "PURGE";
  readonly value: Uint8Array;
  /** The bucket's sequence of this write (compare-and-set goes by it). */
  readonly revision: number;
  /** The value's byte length. */
  readonly length: number;
  /** The value parsed as JSON. */
  json<T>(): T;
}

/** A KV bucket: last-value-per-key storage with compare-and-set writes. */
export interface KvBucket {
  /** The key's entry, or null when the key was never written. */
  get(key: string): Promise<KvEntry | null>;
  /** Writes the value; returns its revision. */
  put(key: string, value: Uint8Array | string): Promise<number>;
  /** Writes the value only if the key has no live entry; returns its revision. */
  create(key: string, value: Uint8Array | string): Promise<number>;
  /** Writes the value only if the key is still at `revision`; returns the new revision. */
  update(key: string, value: Uint8Array | string, revision: number): Promise<number>;
}

export interface Bus {
  /** Opens a KV bucket the topology created. */
  kv(spec: { readonly bucket: string }): Promise<KvBucket>;
}
