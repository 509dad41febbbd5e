import { type ProcessEnvironment, secretNames } from "../core/agents/deployment-plan.ts";
import { type Secrets, secret } from "./secrets.ts";

/**
 * The NATS bus as a linked resource. Choice: an external NATS JetStream deployment (a self-managed
 * 3-node cluster or a managed one) reached at the `NatsHost` secret, with one user per agent whose
 * permissions come from infra/nats/nats-server.conf. docs/deploy.md describes the alternative (the
 * cluster as services on the ECS cluster with EFS storage) and why it is not the default.
 */
export function bus(all: Secrets) {
  const host = secret(all, secretNames.natsHost);
  const link = new sst.Linkable("Bus", { properties: { host: host.value } });
  /** The NATS URL of one user, credentials included (the Bus client splits them out). */
  const natsUrl = (user: string) =>
    $interpolate`nats://${user}:${secret(all, secretNames.natsPassword(user)).value}@${host.value}`;
  return { link, host, natsUrl };
}

export type BusResource = ReturnType<typeof bus>;

/** A process's environment: the plan's literals, its secrets' values and its NATS_URL. */
export function environmentOf(env: ProcessEnvironment, all: Secrets, b: BusResource) {
  return {
    ...env.literal,
    ...Object.fromEntries(
      Object.entries(env.secrets).map(([variable, name]) => [variable, secret(all, name).value]),
    ),
    NATS_URL: b.natsUrl(env.natsUser),
  };
}

/** The secrets a process reads, to link (grants the task role or function access to them). */
export function linkedSecrets(env: ProcessEnvironment, all: Secrets): sst.Secret[] {
  return [...new Set([...Object.values(env.secrets), secretNames.natsPassword(env.natsUser)])].map((name) =>
    secret(all, name),
  );
}
