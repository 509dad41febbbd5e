import { type Agent, type AgentName, manifest } from "../../core/agents/manifest.ts";
import { kvBuckets, objectStores, subjects, systemSubjects } from "../../core/subjects.ts";
import { publishedBy } from "../../core/events/catalogue.ts";

/**
 * Who may emit what on the bus: one nats-server user per agent of the manifest, with publish and
 * subscribe permissions derived from the manifest and core/subjects.ts. The rule is ownership: an
 * agent publishes its own events (`events.<agent>.>`) and the subjects it owns below, nothing else.
 *
 * A function agent's user is the one its trigger shard connects with (the trigger publishes the
 * function's outputs, dead letters and state) and the one its Lambda's tools connect with, so
 * "only compliance writes AUDIT" holds for functions too.
 */
export interface Ownership {
  /** Subjects the agent publishes besides `events.<agent>.>`. */
  readonly publishes: readonly string[];
  /** KV buckets the agent writes (whole bucket). */
  readonly kv: readonly string[];
  /** Object stores the agent writes. */
  readonly objects: readonly string[];
  /** Core subjects the agent reads besides its tools and what it consumes (the dashboard's live feed). */
  readonly subscribes?: readonly string[];
}

const none: Ownership = { publishes: [], kv: [], objects: [] };

/** The subjects of the catalogue entries an agent publishes outside its own `events.<agent>.>`. */
const catalogued = (agent: AgentName): string[] => [
  ...new Set(
    publishedBy(agent)
      .map((e) => e.pattern)
      .filter((p) => !p.startsWith(`events.${agent}.`)),
  ),
];

/**
 * What each agent owns beyond its own events. Typed by the manifest's names: adding an agent to the
 * manifest without deciding what it owns does not compile.
 */
export const ownership = {
  coordinator: {
    ...none,
    publishes: [subjects.tools.all, subjects.commands.all],
    // GET /events fans these out to the dashboard (hotpath/coordinator/live.ts LIVE_ROOTS).
    subscribes: [subjects.events.all, subjects.market.all],
  },
  risk: {
    ...none,
    publishes: catalogued("risk"),
    kv: [kvBuckets.risk.bucket],
  },
  inference: {
    ...none,
    publishes: catalogued("inference"),
    kv: [kvBuckets.models.bucket],
    objects: [objectStores.models.bucket],
  },
  exchange: {
    ...none,
    // Its catalogue events, and the whole of MARKET (trade prints too, which have no entry).
    publishes: [...catalogued("exchange").filter((p) => !p.startsWith("market.")), subjects.market.all],
    kv: [kvBuckets.positions.bucket, kvBuckets.exchangeState.bucket],
  },
  strategy: {
    ...none,
    // Every order goes through the exchange's submit_order (its pre-trade check), as a tool call.
    publishes: [...catalogued("strategy"), subjects.tools.of("exchange")],
    kv: [kvBuckets.strategies.bucket],
  },
  architect: { ...none, objects: [objectStores.results.bucket] },
  quality: none,
  // Its AUDIT records (audit.compliance.decision, .control), which the trigger publishes.
  compliance: { ...none, publishes: catalogued("compliance") },
  // submit_backtest queues its own command (cmd.backtesting.run).
  backtesting: { ...none, publishes: catalogued("backtesting"), objects: [objectStores.results.bucket] },
  // The scheduler publishes its own tick command (cmd.infra.tick, functions/infra/schedule.ts).
  infra: { ...none, publishes: catalogued("infra") },
  // The IntegrationValidator calls every agent's tools over NATS too (functions/integration/transports.ts),
  // hands its report to its own handler (cmd.integration.report), which stores it in the results store.
  integration: {
    ...none,
    publishes: [subjects.tools.all, ...catalogued("integration")],
    objects: [objectStores.results.bucket],
  },
  ledger: none,
} as const satisfies Record<AgentName, Ownership>;

/** JetStream API operations only the admin user may call: they create, change or destroy storage. */
export const adminOnlyApi = [
  "STREAM.CREATE",
  "STREAM.UPDATE",
  "STREAM.DELETE",
  "STREAM.PURGE",
  "STREAM.MSG.DELETE",
  "STREAM.SNAPSHOT",
  "STREAM.RESTORE",
  "STREAM.PEER",
  "STREAM.LEADER",
  "CONSUMER.LEADER",
  "META",
  "SERVER",
  "ACCOUNT",
] as const;

export interface SubjectRules {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

export interface UserPermissions {
  readonly user: string;
  /** The environment variable nats-server reads the user's password from. */
  readonly passwordVariable: string;
  /** The agent this user is (absent for the admin). */
  readonly agent?: AgentName;
  readonly publish: SubjectRules;
  readonly subscribe: SubjectRules;
  /** May reply to requests it received (tool calls) without a publish permission on `_INBOX.>`. */
  readonly allowResponses: boolean;
}

/** The user that owns the topology (streams, buckets): `bot4 topology`, the compose init step, operators. */
export const ADMIN_USER = "admin";

/** The environment variable holding a user's password (`BOT4_NATS_PASSWORD_RISK`). */
export const passwordVariable = (user: string) => `BOT4_NATS_PASSWORD_${user.toUpperCase()}`;

/**
 * nats-server parses an environment variable's value as a configuration value, so a password that
 * starts with a digit (`6e3f…`) is read as a number and the server refuses to start. Passwords are
 * therefore a letter followed by letters, digits, `_` or `-`.
 */
export const NATS_PASSWORD_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{15,}$/;

/** A fresh password that satisfies {@link NATS_PASSWORD_PATTERN} (`p` + 2×bytes hex digits). */
export const newNatsPassword = (randomHex: (bytes: number) => string, bytes = 24) => `p${randomHex(bytes)}`;

/**
 * A fresh password for every user of the bus, exported into `env` under each user's password variable
 * (where nats-server reads it), as a local run, a smoke test or a test of the generated config needs.
 */
export function issuePasswords(
  randomHex: (bytes: number) => string,
  env: NodeJS.ProcessEnv = process.env,
): Map<string, string> {
  const passwords = new Map<string, string>();
  for (const u of natsUsers()) {
    const password = newNatsPassword(randomHex);
    passwords.set(u.user, password);
    env[u.passwordVariable] = password;
  }
  return passwords;
}

/** `nats://user:password@host:port`: how one agent's process carries its credentials in NATS_URL. */
export const withCredentials = (url: string, user: string, password: string) =>
  url.replace(/^nats:\/\//, `nats://${encodeURIComponent(user)}:${encodeURIComponent(password)}@`);

const unique = (xs: readonly string[]) => [...new Set(xs)];

/** The permissions of one agent's user. */
export function agentPermissions(agent: Agent): UserPermissions {
  const name = agent.name as AgentName;
  const owns: Ownership = ownership[name];
  const functionOnly =
    agent.kind === "function"
      ? [subjects.dlq.of(agent.name), systemSubjects.kvKey(kvBuckets.functionState.bucket, agent.name)]
      : [];
  return {
    user: agent.name,
    passwordVariable: passwordVariable(agent.name),
    agent: name,
    publish: {
      allow: unique([
        subjects.events.ofAgent(agent.name),
        ...owns.publishes,
        ...owns.kv.map((bucket) => systemSubjects.kv(bucket)),
        ...owns.objects.map((bucket) => systemSubjects.obj(bucket)),
        systemSubjects.kv(kvBuckets.agents.bucket, agent.name),
        ...functionOnly,
        systemSubjects.jsApi(),
        systemSubjects.jsAck(),
      ]),
      deny: adminOnlyApi.map((op) => systemSubjects.jsApi(op)),
    },
    subscribe: {
      allow: unique([
        subjects.tools.of(agent.name),
        systemSubjects.inbox,
        ...agent.consumes,
        ...(owns.subscribes ?? []),
      ]),
      deny: [],
    },
    allowResponses: true,
  };
}

/** Every user of the bus: the admin, then one per manifest agent in manifest order. */
export function natsUsers(agents: readonly Agent[] = manifest): UserPermissions[] {
  const admin: UserPermissions = {
    user: ADMIN_USER,
    passwordVariable: passwordVariable(ADMIN_USER),
    publish: { allow: [systemSubjects.everything], deny: [] },
    subscribe: { allow: [systemSubjects.everything], deny: [] },
    allowResponses: true,
  };
  return [admin, ...agents.map(agentPermissions)];
}
