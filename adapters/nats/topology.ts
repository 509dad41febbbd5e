import { type StreamConfig, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { kvBuckets, objectStores, type StreamSpec, streams } from "../../core/subjects.ts";
import type { Bus } from "./bus.ts";
import { isNotFound } from "./bus.ts";

/** An existing stream or bucket whose configuration differs from the declared one. */
export class TopologyConflictError extends Error {
  override name = "TopologyConflictError";
  constructor(
    readonly stream: string,
    readonly differences: readonly { field: string; declared: unknown; existing: unknown }[],
  ) {
    super(
      `stream ${stream} exists with a different configuration (${differences
        .map(
          (d) => `${d.field}: declared ${JSON.stringify(d.declared)}, existing ${JSON.stringify(d.existing)}`,
        )
        .join("; ")}); refusing to overwrite it — migrate or delete it deliberately`,
    );
  }
}

export interface TopologyReport {
  created: string[];
  unchanged: string[];
}

const compared: readonly (keyof StreamSpec)[] = [
  "subjects",
  "retention",
  "storage",
  "max_age",
  "duplicate_window",
  "deny_delete",
  "deny_purge",
  "num_replicas",
];

function toStreamConfig(spec: StreamSpec): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    description: spec.description,
    subjects: [...spec.subjects],
    retention: spec.retention === "workqueue" ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: spec.storage === "memory" ? StorageType.Memory : StorageType.File,
    max_age: spec.max_age,
    duplicate_window: spec.duplicate_window,
    deny_delete: spec.deny_delete,
    deny_purge: spec.deny_purge,
    num_replicas: spec.num_replicas,
  };
}

function differences(spec: StreamSpec, existing: StreamConfig) {
  const declared = toStreamConfig(spec) as Record<string, unknown>;
  const actual = existing as unknown as Record<string, unknown>;
  return compared
    .filter((field) => JSON.stringify(declared[field] ?? false) !== JSON.stringify(actual[field] ?? false))
    .map((field) => ({ field, declared: declared[field], existing: actual[field] }));
}

/** Creates a stream, or checks that the existing one matches the declaration exactly. */
async function ensureStream(bus: Bus, spec: StreamSpec, report: TopologyReport): Promise<void> {
  try {
    const info = await bus.jsm.streams.info(spec.name);
    const diff = differences(spec, info.config);
    if (diff.length > 0) throw new TopologyConflictError(spec.name, diff);
    report.unchanged.push(spec.name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await bus.jsm.streams.add(toStreamConfig(spec));
    report.created.push(spec.name);
  }
}

async function exists(bus: Bus, stream: string): Promise<boolean> {
  try {
    await bus.jsm.streams.info(stream);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * Creates every stream, KV bucket and object store of {@link streams}, {@link kvBuckets} and
 * {@link objectStores}. Idempotent: a second run creates nothing and changes nothing. A stream that
 * exists with a different configuration is a {@link TopologyConflictError}, never overwritten.
 */
export async function ensureTopology(bus: Bus): Promise<TopologyReport> {
  const report: TopologyReport = { created: [], unchanged: [] };
  for (const spec of Object.values(streams)) await ensureStream(bus, spec, report);
  const kvm = new Kvm(bus.js);
  for (const spec of Object.values(kvBuckets)) {
    const name = `KV_${spec.bucket}`;
    if (await exists(bus, name)) {
      const info = await bus.jsm.streams.info(name);
      const diff = [
        { field: "max_age", declared: spec.ttl * 1_000_000, existing: info.config.max_age },
        { field: "max_msgs_per_subject", declared: spec.history, existing: info.config.max_msgs_per_subject },
      ].filter((d) => d.declared !== d.existing);
      if (diff.length > 0) throw new TopologyConflictError(name, diff);
      report.unchanged.push(name);
    } else {
      await kvm.create(spec.bucket, { description: spec.description, history: spec.history, ttl: spec.ttl });
      report.created.push(name);
    }
  }
  const objm = new Objm(bus.js);
  for (const spec of Object.values(objectStores)) {
    const name = `OBJ_${spec.bucket}`;
    if (await exists(bus, name)) {
      report.unchanged.push(name);
    } else {
      await objm.create(spec.bucket, { description: spec.description });
      report.created.push(name);
    }
  }
  bus.logger.info(report, "topology ensured");
  return report;
}
