import type { BusResource } from "./bus.ts";
import { environmentOf, linkedSecrets } from "./bus.ts";
import type { DeploymentPlan, FunctionPlan } from "../core/agents/deployment-plan.ts";
import type { Secrets } from "./secrets.ts";

export interface DeployedFunction {
  readonly plan: FunctionPlan;
  readonly fn: sst.aws.Function;
}

/**
 * One Lambda per function agent of the manifest: its `functions/<name>/handler.ts` (which serves the
 * trigger's batches and, through its function URL, HTTP tool calls), nodejs20.x, memory, timeout,
 * reserved concurrency, environment and links from the plan.
 */
export function functions(plan: DeploymentPlan, all: Secrets, b: BusResource): DeployedFunction[] {
  return plan.functions.map((f) => ({
    plan: f,
    fn: new sst.aws.Function(f.resource, {
      name: f.lambdaName,
      handler: f.handler,
      runtime: f.runtime,
      ...(f.install.length > 0 ? { nodejs: { install: [...f.install] } } : {}),
      memory: `${f.memoryMb} MB`,
      timeout: `${f.timeoutSeconds} seconds`,
      concurrency: { reserved: f.reservedConcurrency },
      environment: environmentOf(f.environment, all, b),
      link: [b.link, ...linkedSecrets(f.environment, all)],
      url: f.url,
    }),
  }));
}
