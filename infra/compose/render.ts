import { type Agent, manifest } from "../../core/agents/manifest.ts";
import { agentProcess } from "../../core/agents/process.ts";
import { ADMIN_USER, natsUsers, passwordVariable } from "../nats/permissions.ts";
import { NATS_CONFIG_PATH } from "../nats/render.ts";
import { type Yaml, toYaml } from "./yaml.ts";

/** The compose file, relative to the repository root; its own paths are relative to infra/. */
export const COMPOSE_PATH = "infra/compose.yaml";

/** The nats-server image: the 2.9 line, the version the generated configuration is tested on. */
export const NATS_IMAGE = "nats:2.9-alpine";
export const LOCALSTACK_IMAGE = "localstack/localstack:latest";
const IMAGE = "bot4:local";
const NATS_PORT = 4222;
const NATS_MONITOR_PORT = 8222;
const LOCALSTACK_PORT = 4566;
const ENV_HINT = "run npm run infra:env first";

/** A compose interpolation, `${expr}` in the file. */
const composeVar = (expr: string) => `\${${expr}}`;
/** `${VAR:?hint}`: compose refuses to start while the variable is unset. */
const required = (variable: string) => composeVar(`${variable}:?${ENV_HINT}`);
/** A NATS URL carrying one user's credentials (nats.js reads user:password from the URL). */
const natsUrl = (user: string) => `nats://${user}:${required(passwordVariable(user))}@nats:${NATS_PORT}`;

const build = { context: "..", dockerfile: agentProcess.dockerfile };
const common = {
  ENVIRONMENT: composeVar("ENVIRONMENT:-development"),
  LOG_LEVEL: composeVar("LOG_LEVEL:-info"),
};

function service(agent: Extract<Agent, { kind: "service" }>): Yaml {
  return {
    build,
    image: IMAGE,
    environment: {
      [agentProcess.roleVariable]: agent.name,
      NATS_URL: natsUrl(agent.name),
      BOT4_HOST: "0.0.0.0",
      BOT4_API_KEYS: required("BOT4_API_KEYS"),
      BINANCE_TESTNET: composeVar("BINANCE_TESTNET:-true"),
      ...common,
    },
    ports: [`${agent.port}:${agent.port}`],
    depends_on: { topology: { condition: "service_completed_successfully" } },
    restart: "unless-stopped",
  };
}

/** One trigger shard per function agent, connected as that function's user, invoking its Lambda in LocalStack. */
function triggerShard(fn: Extract<Agent, { kind: "function" }>): Yaml {
  return {
    build,
    image: IMAGE,
    environment: {
      [agentProcess.roleVariable]: agentProcess.triggerRole,
      [agentProcess.functionsVariable]: fn.name,
      FUNCTION_INVOKER: "lambda",
      LAMBDA_FUNCTION_PREFIX: agentProcess.lambdaPrefix(
        agentProcess.localApp.app,
        agentProcess.localApp.stage,
      ),
      NATS_URL: natsUrl(fn.name),
      AWS_ENDPOINT_URL: `http://localstack:${LOCALSTACK_PORT}`,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      ...common,
    },
    depends_on: {
      topology: { condition: "service_completed_successfully" },
      localstack: { condition: "service_healthy" },
    },
    restart: "unless-stopped",
  };
}

/** The compose file: nats-server (JetStream, volume, per-agent users), LocalStack, the hot path and the trigger. */
export function composeDocument(agents: readonly Agent[] = manifest): Yaml {
  const services = agents.filter((a): a is Extract<Agent, { kind: "service" }> => a.kind === "service");
  const functions = agents.filter((a): a is Extract<Agent, { kind: "function" }> => a.kind === "function");
  const doc: Yaml = {
    name: "bot4",
    services: {
      nats: {
        image: NATS_IMAGE,
        command: [
          "-c",
          "/etc/nats/nats-server.conf",
          "-js",
          "-sd",
          "/data",
          "-p",
          String(NATS_PORT),
          "-m",
          String(NATS_MONITOR_PORT),
        ],
        environment: Object.fromEntries(
          natsUsers(agents).map((u) => [u.passwordVariable, required(u.passwordVariable)]),
        ),
        volumes: [
          `./${NATS_CONFIG_PATH.slice("infra/".length)}:/etc/nats/nats-server.conf:ro`,
          "nats-data:/data",
        ],
        ports: [`${NATS_PORT}:${NATS_PORT}`, `${NATS_MONITOR_PORT}:${NATS_MONITOR_PORT}`],
        healthcheck: {
          test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${NATS_MONITOR_PORT}/healthz`],
          interval: "5s",
          timeout: "3s",
          retries: 12,
        },
        restart: "unless-stopped",
      },
      localstack: {
        image: LOCALSTACK_IMAGE,
        environment: {
          SERVICES: "lambda,iam,logs,sts",
          // Lambda containers join the compose network, so a function's tools reach nats:4222.
          LAMBDA_DOCKER_NETWORK: "bot4_default",
          LOCALSTACK_AUTH_TOKEN: composeVar("LOCALSTACK_AUTH_TOKEN:-"),
        },
        ports: [`${LOCALSTACK_PORT}:${LOCALSTACK_PORT}`],
        volumes: ["/var/run/docker.sock:/var/run/docker.sock"],
        healthcheck: {
          test: ["CMD", "curl", "-sf", `http://127.0.0.1:${LOCALSTACK_PORT}/_localstack/health`],
          interval: "5s",
          timeout: "3s",
          retries: 24,
        },
      },
      topology: {
        build,
        image: IMAGE,
        environment: {
          [agentProcess.roleVariable]: agentProcess.topologyRole,
          NATS_URL: natsUrl(ADMIN_USER),
          ...common,
        },
        depends_on: { nats: { condition: "service_healthy" } },
        restart: "no",
      },
      ...Object.fromEntries(services.map((a) => [a.name, service(a)])),
      ...Object.fromEntries(functions.map((f) => [`${agentProcess.triggerRole}-${f.name}`, triggerShard(f)])),
    },
    volumes: { "nats-data": {} },
  };
  return doc;
}

/** The compose file's text. */
export function renderCompose(agents: readonly Agent[] = manifest): string {
  return [
    "# Generated by `npm run generate:infra` (infra/generate.ts) from core/agents/manifest.ts. Do not edit.",
    "# Start: npm run infra:env && docker compose -f infra/compose.yaml up --build  (see docs/deploy.md)",
    toYaml(composeDocument(agents)),
  ].join("\n");
}
