import type { DeployedModel, ModelMetadata } from "../ml/model-meta.ts";

/**
 * The model store port: where model artifacts (ONNX bytes) and their metadata live, and which version
 * is deployed. Inference and the backtester talk to this; the adapter on JetStream (KV + object store)
 * is adapters/nats/model-store.ts. Every artifact read back verifies against its recorded sha256.
 */
export interface ModelStore {
  /** Stores the artifact, then its metadata (so metadata never names a missing artifact). */
  save(bytes: Uint8Array, meta: Omit<ModelMetadata, "sha256" | "bytes">): Promise<ModelMetadata>;
  metadata(version: string): Promise<ModelMetadata | undefined>;
  /** Every stored version, oldest first. */
  list(): Promise<ModelMetadata[]>;
  /** The verified artifact and metadata of a version; throws Unknown/ArtifactIntegrity errors. */
  load(version: string): Promise<{ meta: ModelMetadata; bytes: Uint8Array }>;
  deployed(): Promise<DeployedModel | undefined>;
  /** Points `deployed` at a version whose artifact verifies; running instances follow via `watchDeployed`. */
  deploy(version: string): Promise<DeployedModel>;
  /** Deploys `version` only if nothing is deployed yet; returns the pointer in force afterwards. */
  deployIfAbsent(version: string): Promise<DeployedModel>;
  /**
   * Calls `onChange` with the current deployed pointer and every later change until the returned stop
   * function is called; malformed entries go to `onError` and are skipped.
   */
  watchDeployed(
    onChange: (pointer: DeployedModel) => void | Promise<void>,
    onError: (err: unknown) => void,
  ): Promise<() => void>;
}

/** An artifact whose bytes do not hash to what the registry recorded: it is never loaded. */
export class ArtifactIntegrityError extends Error {
  override name = "ArtifactIntegrityError";
  constructor(
    readonly version: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `artifact of model ${version} is corrupt or was replaced: sha256 ${actual}, registry says ${expected}`,
    );
  }
}

export class UnknownModelError extends Error {
  override name = "UnknownModelError";
  constructor(readonly version: string) {
    super(`unknown model version "${version}"`);
  }
}
