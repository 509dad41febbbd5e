import type { DeploymentPlan } from "../core/agents/deployment-plan.ts";

/** Every secret of the plan, declared once and handed to the stacks that link them. */
export type Secrets = Readonly<Record<string, sst.Secret>>;

/**
 * Exchange keys, `BOT4_API_KEYS`, the NATS host and one NATS password per agent, as SST secrets:
 * `npx sst secret set <Name> <value> --stage <stage>` (docs/deploy.md lists them).
 */
export function secrets(plan: DeploymentPlan): Secrets {
  return Object.fromEntries(plan.secrets.map((name) => [name, new sst.Secret(name)]));
}

/** The secret of that name; a plan that names a secret it did not declare is a bug in the plan. */
export function secret(all: Secrets, name: string): sst.Secret {
  const s = all[name];
  if (s === undefined) throw new Error(`secret ${name} is not declared by the deployment plan`);
  return s;
}
