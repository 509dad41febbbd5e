import { createHash } from "node:crypto";
import type { KV } from "@nats-io/kv";
import type { ObjectStore } from "@nats-io/obj";
import type { Bus } from "./bus.ts";
import { DeployedModel, ModelMetadata } from "../../core/ml/model-meta.ts";
import { ArtifactIntegrityError, type ModelStore, UnknownModelError } from "../../core/ports/model-store.ts";
import { kvBuckets, modelKeys, objectStores } from "../../core/subjects.ts";

export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

const decoder = new TextDecoder();

/**
 * The model store port (core/ports/model-store.ts) on JetStream: artifacts (ONNX bytes) in the object
 * store `bot4_model_artifacts`, metadata in KV `bot4_models` under `model.<version>`, and the deployed
 * version under `deployed`.
 * Every value read back is parsed by zod; every artifact read back is checked against its sha256.
 */
export class NatsModelStore implements ModelStore {
  private constructor(
    private readonly kv: KV,
    private readonly os: ObjectStore,
  ) {}

  static async open(bus: Bus): Promise<NatsModelStore> {
    return new NatsModelStore(await bus.kv(kvBuckets.models), await bus.objectStore(objectStores.models));
  }

  /** Stores the artifact, then its metadata (so metadata never names a missing artifact). */
  async save(bytes: Uint8Array, meta: Omit<ModelMetadata, "sha256" | "bytes">): Promise<ModelMetadata> {
    const full = ModelMetadata.parse({ ...meta, sha256: sha256(bytes), bytes: bytes.length });
    await this.os.putBlob({ name: modelKeys.artifact(full.version) }, bytes);
    await this.kv.put(modelKeys.version(full.version), JSON.stringify(full));
    return full;
  }

  async metadata(version: string): Promise<ModelMetadata | undefined> {
    const entry = await this.kv.get(modelKeys.version(version));
    if (entry === null || entry.operation !== "PUT") return undefined;
    return ModelMetadata.parse(JSON.parse(decoder.decode(entry.value)));
  }

  async list(): Promise<ModelMetadata[]> {
    const keys: string[] = [];
    for await (const key of await this.kv.keys(modelKeys.versions)) keys.push(key);
    const out: ModelMetadata[] = [];
    for (const key of keys) {
      const entry = await this.kv.get(key);
      if (entry === null || entry.operation !== "PUT") continue;
      out.push(ModelMetadata.parse(JSON.parse(decoder.decode(entry.value))));
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.version.localeCompare(b.version));
  }

  /** The verified artifact and metadata of a version; throws Unknown/ArtifactIntegrity errors. */
  async load(version: string): Promise<{ meta: ModelMetadata; bytes: Uint8Array }> {
    const meta = await this.metadata(version);
    if (meta === undefined) throw new UnknownModelError(version);
    const bytes = await this.os.getBlob(modelKeys.artifact(version)).catch(() => null);
    if (bytes === null) throw new ArtifactIntegrityError(version, meta.sha256, "missing");
    const actual = sha256(bytes);
    if (actual !== meta.sha256 || bytes.length !== meta.bytes)
      throw new ArtifactIntegrityError(version, meta.sha256, actual);
    return { meta, bytes };
  }

  async deployed(): Promise<DeployedModel | undefined> {
    const entry = await this.kv.get(modelKeys.deployed);
    if (entry === null || entry.operation !== "PUT") return undefined;
    return DeployedModel.parse(JSON.parse(decoder.decode(entry.value)));
  }

  /** Points `deployed` at a version whose artifact verifies; running instances follow via {@link watchDeployed}. */
  async deploy(version: string): Promise<DeployedModel> {
    await this.load(version);
    const previous = await this.deployed();
    const pointer: DeployedModel = {
      version,
      deployedAt: new Date().toISOString(),
      ...(previous !== undefined && previous.version !== version ? { previous: previous.version } : {}),
    };
    await this.kv.put(modelKeys.deployed, JSON.stringify(pointer));
    return pointer;
  }

  /**
   * Deploys `version` only if nothing is deployed yet (an atomic KV create), so replicas starting
   * together agree on one first model. Returns the pointer in force afterwards.
   */
  async deployIfAbsent(version: string): Promise<DeployedModel> {
    await this.load(version);
    const pointer: DeployedModel = { version, deployedAt: new Date().toISOString() };
    try {
      await this.kv.create(modelKeys.deployed, JSON.stringify(pointer));
      return pointer;
    } catch (err) {
      const current = await this.deployed();
      if (current === undefined) throw err;
      return current;
    }
  }

  /**
   * Calls `onChange` with the current deployed pointer and with every later change, until the returned
   * stop function is called. Malformed entries are reported through `onError` and skipped.
   */
  async watchDeployed(
    onChange: (pointer: DeployedModel) => void | Promise<void>,
    onError: (err: unknown) => void,
  ): Promise<() => void> {
    const iter = await this.kv.watch({ key: modelKeys.deployed });
    void (async () => {
      for await (const entry of iter) {
        if (entry.operation !== "PUT") continue;
        try {
          await onChange(DeployedModel.parse(JSON.parse(decoder.decode(entry.value))));
        } catch (err) {
          onError(err);
        }
      }
    })();
    return () => iter.stop();
  }
}
