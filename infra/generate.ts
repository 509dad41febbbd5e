import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { COMPOSE_PATH, renderCompose } from "./compose/render.ts";
import { monitoringFiles } from "./monitoring/render.ts";
import { natsUsers } from "./nats/permissions.ts";
import { NATS_CONFIG_PATH, renderNatsConfig } from "./nats/render.ts";

/**
 * The infrastructure files derived from the agent manifest, committed so that people without Node
 * (operators, `docker compose`) can read and use them. `npm run generate:infra` rewrites them;
 * `--check` only reports which are out of date (non-zero exit), which is what the tests run.
 */
export const repoRoot = fileURLToPath(new URL("../", import.meta.url));

export interface GeneratedFile {
  /** Relative to the repository root. */
  readonly path: string;
  readonly content: string;
}

export function generatedFiles(): GeneratedFile[] {
  return [
    { path: NATS_CONFIG_PATH, content: renderNatsConfig(natsUsers()) },
    { path: COMPOSE_PATH, content: renderCompose() },
    ...monitoringFiles(),
  ];
}

/** Paths whose committed content differs from what the manifest generates. */
export function staleFiles(root = repoRoot): string[] {
  return generatedFiles()
    .filter((f) => {
      try {
        return readFileSync(join(root, f.path), "utf8") !== f.content;
      } catch {
        return true;
      }
    })
    .map((f) => f.path);
}

function main(argv: readonly string[]): number {
  if (argv.includes("--check")) {
    const stale = staleFiles();
    for (const path of stale) console.error(`out of date: ${path} (run npm run generate:infra)`);
    return stale.length === 0 ? 0 : 1;
  }
  for (const f of generatedFiles()) {
    mkdirSync(dirname(join(repoRoot, f.path)), { recursive: true });
    writeFileSync(join(repoRoot, f.path), f.content);
    console.log(`wrote ${f.path}`);
  }
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}
