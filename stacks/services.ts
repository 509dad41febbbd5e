import type { BusResource } from "./bus.ts";
import { environmentOf, linkedSecrets } from "./bus.ts";
import type { DeploymentPlan, ServicePlan } from "../core/agents/deployment-plan.ts";
import type { Secrets } from "./secrets.ts";

export interface DeployedService {
  readonly plan: ServicePlan;
  readonly service: sst.aws.Service;
}

/**
 * A VPC, an ECS cluster and one Fargate service per hot-path agent of the manifest: the image of
 * infra/docker/Dockerfile started as that agent, its port, the container health check, min/max
 * instances (CPU target tracking), environment and links. Public services get a load balancer.
 */
export function services(plan: DeploymentPlan, all: Secrets, b: BusResource) {
  const vpc = new sst.aws.Vpc("Vpc", { nat: "ec2" });
  const cluster = new sst.aws.Cluster("Cluster", { vpc });
  const deployed: DeployedService[] = plan.services.map((s) => ({
    plan: s,
    service: new sst.aws.Service(s.resource, {
      cluster,
      image: { context: ".", dockerfile: s.dockerfile },
      cpu: s.sizing.cpu,
      memory: `${s.sizing.memoryGb} GB`,
      environment: environmentOf(s.environment, all, b),
      link: [b.link, ...linkedSecrets(s.environment, all)],
      health: {
        command: ["CMD", ...s.healthCommand],
        startPeriod: "30 seconds",
        interval: "15 seconds",
        timeout: "5 seconds",
        retries: 3,
      },
      scaling: { min: s.sizing.min, max: s.sizing.max, cpuUtilization: 70 },
      // Cloud Map SRV record with the agent's port: `<service>.<namespace>:<port>` inside the VPC.
      serviceRegistry: { port: s.port },
      ...(s.public
        ? {
            loadBalancer: {
              ports: [{ listen: "80/http", forward: `${s.port}/http` }],
              health: { [`${s.port}/http`]: { path: s.healthPath } },
            },
          }
        : {}),
    }),
  }));
  return { vpc, cluster, services: deployed };
}
