import { fileURLToPath } from "node:url";
import { serviceAgents } from "../../core/agents/manifest.ts";
import { agentProcess } from "../../core/agents/process.ts";

/**
 * The container health probe (Dockerfile HEALTHCHECK, the ECS task health check): GET /health of
 * whatever AGENT runs in this container, on loopback. Exit 0 healthy, 1 not. The topology role is a
 * one-shot job and is always healthy while it runs.
 */
export function healthUrl(env: NodeJS.ProcessEnv): string | undefined {
  const role = env[agentProcess.roleVariable];
  if (role === agentProcess.topologyRole) return undefined;
  const offset = Number(env.BOT4_PORT_OFFSET ?? "0") || 0;
  const port =
    role === agentProcess.triggerRole
      ? agentProcess.triggerPort
      : serviceAgents.find((a) => a.name === role)?.port;
  if (port === undefined)
    throw new Error(`${agentProcess.roleVariable}=${String(role)} is not a container role`);
  return `http://127.0.0.1:${port + offset}${agentProcess.healthPath}`;
}

export async function probe(env: NodeJS.ProcessEnv = process.env, timeoutMs = 3_000): Promise<boolean> {
  const url = healthUrl(env);
  if (url === undefined) return true;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok;
  } catch {
    return false;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  probe().then(
    (ok) => process.exit(ok ? 0 : 1),
    () => process.exit(1),
  );
}
