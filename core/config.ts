import { z } from "zod";

/** Parses an env flag the way people write them: true/false, 1/0, yes/no. */
const flag = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
    .default(fallback ? "true" : "false")
    .transform((v) => v === "true" || v === "1" || v === "yes");

const positive = (fallback: number) =>
  z.coerce.number({ message: "must be a number" }).positive().default(fallback);
const fraction = (fallback: number) =>
  z.coerce.number({ message: "must be a number" }).gt(0).max(1).default(fallback);
const count = (fallback: number) =>
  z.coerce.number({ message: "must be a number" }).int().positive().default(fallback);

/** Every environment variable Bot4 reads, with the seed's names and defaults. */
export const Config = z.object({
  NATS_URL: z.string().url({ message: "must be a nats:// URL" }).optional(),
  ENVIRONMENT: z.enum(["development", "test", "staging", "production"]).default("development"),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  MAX_POSITION_SIZE: fraction(0.02),
  MAX_PORTFOLIO_RISK: fraction(0.15),
  MAX_CORRELATION: fraction(0.7),
  MAX_LEVERAGE: positive(3),
  MODEL_CACHE_SIZE: count(100),
  MAX_INFERENCE_BATCH: count(32),
  BINANCE_TESTNET: flag(true),
  MAX_RECONNECT_ATTEMPTS: count(5),
  BOT4_API_KEYS: z
    .string()
    .default("")
    .transform((s) =>
      s
        .split(",")
        .map((k) => k.trim())
        .filter((k) => k.length > 0),
    ),
  BOT4_HOST: z.string().default("127.0.0.1"),
  BOT4_DATA_DIR: z.string().default(".bot4"),
});
export type Config = z.infer<typeof Config>;

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    message: string,
    readonly issues: readonly { variable: string; rule: string }[],
  ) {
    super(message);
  }
}

/**
 * Reads the configuration from an environment. A bad value throws a ConfigError whose message names
 * every offending variable and the rule it broke, e.g. `MAX_LEVERAGE: must be a number (got "abc")`.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const relevant: Record<string, string> = {};
  for (const key of Object.keys(Config.shape)) {
    const value = env[key];
    if (value !== undefined && value !== "") relevant[key] = value;
  }
  const parsed = Config.safeParse(relevant);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? "?");
    return { variable, rule: `${issue.message} (got ${JSON.stringify(relevant[variable])})` };
  });
  const lines = issues.map((i) => `  ${i.variable}: ${i.rule}`).join("\n");
  throw new ConfigError(`invalid configuration:\n${lines}`, issues);
}
