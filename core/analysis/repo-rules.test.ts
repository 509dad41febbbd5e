import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { analyzePath } from "./run.ts";

/**
 * Bot4's own layer rules (architect.rules.json) keep what left core out of it: each import below is
 * one that a rule must refuse, checked against a small tree so the test fails if the rule is loosened.
 */
const rules = readFileSync(new URL("../../architect.rules.json", import.meta.url), "utf8");

const offenders: Record<string, [rule: string, to: string]> = {
  'core/ledger/projection.ts:import { readFileSync } from "node:fs";': ["domain-pure", "node:fs"],
  'core/tools/routes.ts:import { Hono } from "hono";': ["core-no-adapter", "hono"],
  'core/functions/app.ts:import { handle } from "hono/aws-lambda";': ["core-no-adapter", "hono"],
  'core/telemetry/server.ts:import { spawn } from "node:child_process";': [
    "core-no-process",
    "node:child_process",
  ],
  'core/registry/models.ts:import type { KV } from "@nats-io/kv";': [
    "nats-client-in-adapters",
    "@nats-io/kv",
  ],
  'core/functions/state.ts:import type { KV } from "@nats-io/kv";': [
    "nats-client-in-adapters",
    "@nats-io/kv",
  ],
  'core/domain/trading.ts:import { subjects } from "../subjects.ts";': [
    "domain-no-wiring",
    "core/subjects.ts",
  ],
  'core/risk/snapshot.ts:import { loadConfig } from "../config.ts";': ["domain-no-wiring", "core/config.ts"],
  'core/ports/models.ts:import { createHash } from "node:crypto";': ["ports-pure", "node:crypto"],
  'core/ports/store.ts:import type { S } from "../functions/state-store.ts";': [
    "ports-pure",
    "core/functions/state-store.ts",
  ],
  'core/ports/queue.ts:import type { Bus } from "../../adapters/nats/bus.ts";': [
    "core-independent",
    "adapters/nats/bus.ts",
  ],
  'core/subjects.ts:import { sha } from "../adapters/nats/models.ts";': [
    "core-independent",
    "adapters/nats/models.ts",
  ],
  'adapters/http/app.ts:import { kit } from "../../hotpath/kit/http.ts";': [
    "adapters-below-agents",
    "hotpath/kit/http.ts",
  ],
  'infra/localstack/deploy.ts:import { plan } from "../../stacks/plan/deployment.ts";': [
    "infra-not-stacks",
    "stacks/plan/deployment.ts",
  ],
  'stacks/bus.ts:import { app } from "../adapters/http/app.ts";': [
    "stacks-from-core-only",
    "adapters/http/app.ts",
  ],
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("Bot4's layer rules", () => {
  const root = mkdtempSync(join(tmpdir(), "bot4-repo-rules-"));
  dirs.push(root);
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write("architect.rules.json", rules);
  const targets = [
    "core/subjects.ts",
    "core/config.ts",
    "core/functions/state-store.ts",
    "adapters/nats/bus.ts",
    "adapters/nats/models.ts",
    "hotpath/kit/http.ts",
    "stacks/plan/deployment.ts",
    "adapters/http/app.ts",
  ];
  for (const t of targets) write(t, "export const x = 1;\n");
  const byFile = new Map<string, string[]>();
  for (const key of Object.keys(offenders)) {
    const [file, line] = key.split(/:(.*)/s) as [string, string];
    byFile.set(file, [...(byFile.get(file) ?? []), line]);
  }
  for (const [file, lines] of byFile) write(file, `${lines.join("\n")}\nexport const y = 2;\n`);
  const { result } = analyzePath({ path: root, parts: ["layers"] });
  const found = result.layer_violations.map((v) => `${v.rule} ${v.from} ${v.to}`);

  it.each(Object.entries(offenders))("refuses %s", (key, [rule, to]) => {
    expect(found).toContain(`${rule} ${key.split(":")[0]} ${to}`);
  });

  it("allows the adapters and the launcher where they now live", () => {
    const allowed = mkdtempSync(join(tmpdir(), "bot4-repo-rules-ok-"));
    dirs.push(allowed);
    const files: Record<string, string> = {
      "architect.rules.json": rules,
      "core/ports/model-store.ts": 'import type { M } from "../ml/meta.ts";\nexport type S = M;\n',
      "core/ml/meta.ts": "export type M = number;\n",
      "core/ports/bus.ts": "export interface Bus {\n  kv(spec: { bucket: string }): Promise<unknown>;\n}\n",
      "adapters/nats/bus.ts":
        'import { connect } from "@nats-io/transport-node";\nimport type { Bus as Port } from "../../core/ports/bus.ts";\nexport type B = [typeof connect, Port];\n',
      "core/exchange-state/snapshot.ts":
        'import type { Bus } from "../ports/bus.ts";\nexport type S = Bus;\n',
      "adapters/nats/model-store.ts":
        'import type { KV } from "@nats-io/kv";\nimport type { S } from "../../core/ports/model-store.ts";\nexport type N = [KV, S];\n',
      "adapters/http/routes.ts": 'import { Hono } from "hono";\nexport const app = new Hono();\n',
      "infra/nats-server/process.ts":
        'import { spawn } from "node:child_process";\nexport const s = spawn;\n',
      "infra/localstack/deploy.ts":
        'import { plan } from "../../core/agents/plan.ts";\nexport const p = plan;\n',
      "core/agents/plan.ts": "export const plan = 1;\n",
      "hotpath/inference/service.ts":
        'import type { N } from "../../adapters/nats/model-store.ts";\nimport { app } from "../../adapters/http/routes.ts";\nexport const z: [N?, typeof app?] = [];\n',
    };
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(allowed, p)), { recursive: true });
      writeFileSync(join(allowed, p), text);
    }
    const ok = analyzePath({ path: allowed, parts: ["layers"] }).result;
    expect(ok.layer_violations.filter((v) => v.severity === "error")).toEqual([]);
  });
});
