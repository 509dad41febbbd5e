import { describe, expect, it } from "vitest";
import { z } from "zod";
import { functionAgents, manifest, serviceAgents } from "../../core/agents/manifest.ts";
import { agentProcess } from "../../core/agents/process.ts";
import { natsUsers } from "../nats/permissions.ts";
import { composeDocument } from "./render.ts";
import { toYaml } from "./yaml.ts";

const Service = z.object({
  image: z.string(),
  build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.string()).optional(),
  ports: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
});
const Compose = z.object({
  services: z.record(z.string(), Service),
  volumes: z.record(z.string(), z.object({})),
});

describe("infra/compose.yaml, derived from the manifest", () => {
  const doc = Compose.parse(composeDocument());
  const svc = (name: string) => doc.services[name];

  it("runs nats-server with JetStream on a named volume, the generated config and every user's password", () => {
    const nats = svc("nats");
    expect(nats?.command).toEqual(
      expect.arrayContaining(["-js", "-sd", "/data", "-c", "/etc/nats/nats-server.conf"]),
    );
    expect(nats?.volumes).toEqual(expect.arrayContaining(["nats-data:/data"]));
    expect(Object.keys(doc.volumes)).toEqual(["nats-data"]);
    expect(Object.keys(nats?.environment ?? {}).sort()).toEqual(
      natsUsers()
        .map((u) => u.passwordVariable)
        .sort(),
    );
    expect(svc("localstack")?.ports).toEqual(["4566:4566"]);
  });

  it("runs each hot-path agent as itself on its port, connected as its own NATS user, after the topology", () => {
    for (const a of serviceAgents) {
      const s = svc(a.name);
      expect(s?.build?.dockerfile, a.name).toBe(agentProcess.dockerfile);
      expect(s?.environment?.[agentProcess.roleVariable]).toBe(a.name);
      expect(s?.environment?.NATS_URL).toMatch(
        new RegExp(`^nats://${a.name}:\\$\\{BOT4_NATS_PASSWORD_${a.name.toUpperCase()}:\\?`),
      );
      expect(s?.ports).toEqual([`${a.port}:${a.port}`]);
      expect(s?.depends_on?.topology?.condition).toBe("service_completed_successfully");
    }
  });

  it("runs one trigger shard per function agent, as that function's user, invoking LocalStack's Lambda", () => {
    for (const f of functionAgents) {
      const s = svc(`trigger-${f.name}`);
      expect(s?.environment?.[agentProcess.functionsVariable], f.name).toBe(f.name);
      expect(s?.environment?.NATS_URL).toContain(`nats://${f.name}:`);
      expect(s?.environment?.FUNCTION_INVOKER).toBe("lambda");
      expect(s?.environment?.AWS_ENDPOINT_URL).toBe("http://localstack:4566");
      expect(s?.depends_on?.localstack?.condition).toBe("service_healthy");
    }
    expect(Object.keys(doc.services)).toHaveLength(3 + manifest.length);
  });

  it("writes YAML scalars that read back verbatim (JSON-quoted strings, compose interpolation kept)", () => {
    const interpolation = `\${V:?hint}`;
    const text = toYaml({ a: "x: y", b: ["1", 2, true], c: { "d-e": interpolation }, f: [{ g: "h" }] });
    expect(text).toBe(`a: "x: y"\nb: ["1", 2, true]\nc:\n  d-e: "${interpolation}"\nf:\n  - g: "h"\n`);
  });
});
