/// <reference path="./.sst/platform/config.d.ts" />

/**
 * Bot4 in AWS (SST v3 config API, as the `sst` npm package ships it): hot-path services on ECS
 * Fargate, function agents as Lambda, the trigger as a service, NATS as an external JetStream
 * deployment. Every resource comes from the agent manifest through core/agents/deployment-plan.ts.
 *
 *   npx sst secret set NatsHost nats.example.com:4222 --stage prod   (and the rest: docs/deploy.md)
 *   npx sst deploy --stage prod
 */
export default $config({
  app(input) {
    return {
      name: "bot4",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
    };
  },
  async run() {
    const { existsSync } = await import("node:fs");
    const { deploymentPlan } = await import("./core/agents/deployment-plan.ts");
    const { secrets } = await import("./stacks/secrets.ts");
    const { bus } = await import("./stacks/bus.ts");
    const { functions } = await import("./stacks/functions.ts");
    const { services } = await import("./stacks/services.ts");
    const { trigger } = await import("./stacks/trigger.ts");

    const plan = deploymentPlan($app.name, $app.stage, undefined, undefined, existsSync);
    if (plan.notYetImplemented.length > 0) {
      console.warn(`not deployed (no functions/<name>/handler.ts yet): ${plan.notYetImplemented.join(", ")}`);
    }
    const all = secrets(plan);
    const b = bus(all);
    const fns = functions(plan, all, b);
    const svc = services(plan, all, b);
    trigger(plan, all, b, svc.cluster, fns);
    return {
      ...Object.fromEntries(
        svc.services.filter((s) => s.plan.public).map((s) => [s.plan.agent, s.service.url]),
      ),
      ...Object.fromEntries(fns.map((f) => [`${f.plan.agent}Tools`, f.fn.url])),
    };
  },
});
