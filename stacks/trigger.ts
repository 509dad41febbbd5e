import type { BusResource } from "./bus.ts";
import { environmentOf, linkedSecrets } from "./bus.ts";
import type { DeployedFunction } from "./functions.ts";
import type { DeploymentPlan } from "../core/agents/deployment-plan.ts";
import type { Secrets } from "./secrets.ts";

/**
 * The trigger: one service whose task runs one container per function agent (a trigger shard,
 * connected to NATS as that function's user, so it may only publish what the function owns). Its
 * task role may invoke exactly the function agents' Lambdas, nothing else.
 */
export function trigger(
  plan: DeploymentPlan,
  all: Secrets,
  b: BusResource,
  cluster: sst.aws.Cluster,
  deployed: readonly DeployedFunction[],
) {
  const t = plan.trigger;
  const arns = t.invokes.map((name) => {
    const f = deployed.find((d) => d.plan.agent === name);
    if (f === undefined) throw new Error(`the trigger invokes ${name}, which is not deployed`);
    return f.fn.arn;
  });
  return new sst.aws.Service(t.resource, {
    cluster,
    cpu: "0.5 vCPU",
    memory: "1 GB",
    containers: t.shards.map((s) => ({
      name: s.container,
      image: { context: ".", dockerfile: t.dockerfile },
      environment: environmentOf(s.environment, all, b),
    })),
    link: [b.link, ...t.shards.flatMap((s) => linkedSecrets(s.environment, all))],
    permissions: [{ actions: ["lambda:InvokeFunction"], resources: arns }],
    scaling: { min: t.replicas.min, max: t.replicas.max, cpuUtilization: 70 },
  });
}
