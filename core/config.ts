import { z } from "zod";
import { seedLimits } from "./risk/snapshot.ts";

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

/** A comma-separated list, trimmed, empty entries dropped. */
const commaList = () =>
  z
    .string()
    .default("")
    .transform((s) =>
      s
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v.length > 0),
    );

/** Every environment variable Bot4 reads, with the seed's names and defaults. */
export const Config = z.object({
  NATS_URL: z.string().url({ message: "must be a nats:// URL" }).optional(),
  ENVIRONMENT: z.enum(["development", "test", "staging", "production"]).default("development"),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  /** `pretty` (human-readable lines) or `json`; unset: pretty on a terminal, JSON otherwise. */
  LOG_FORMAT: z.enum(["pretty", "json"], { message: "must be pretty or json" }).optional(),
  MAX_POSITION_SIZE: fraction(seedLimits.maxPositionSize),
  MAX_PORTFOLIO_RISK: fraction(seedLimits.maxPortfolioRisk),
  MAX_CORRELATION: fraction(seedLimits.maxCorrelation),
  MAX_LEVERAGE: positive(seedLimits.maxLeverage),
  /** Fraction of full Kelly that calculate_kelly sizes with (0.25 = quarter Kelly). */
  KELLY_FRACTION: fraction(0.25),
  /** Cash each account starts with in the risk service's book (quote currency); default: PAPER_BALANCES' USDT. */
  RISK_INITIAL_EQUITY: z.coerce.number({ message: "must be a number" }).positive().optional(),
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
  /** ccxt exchange ids the exchange service trades on besides `paper` (comma-separated, e.g. `binance`). */
  EXCHANGE_VENUES: z
    .string()
    .default("")
    .transform((s) =>
      s
        .split(",")
        .map((v) => v.trim().toLowerCase())
        .filter((v) => v.length > 0),
    )
    .pipe(z.array(z.string().regex(/^[a-z0-9]+$/, "venue ids are ccxt ids such as binance"))),
  /** The venue submit_order uses when the call names none. */
  EXCHANGE_DEFAULT_VENUE: z
    .string()
    .regex(/^[a-z0-9]+$/, "a venue name such as paper")
    .default("paper"),
  /** Milliseconds between order/outage polls of ccxt venues (and market-stream polls without websockets). */
  EXCHANGE_POLL_MS: count(1_000),
  /**
   * The exchange journal's durability: `off` (default) — an acknowledged order's events are written
   * to the journal file (they survive kill -9 of the process, not a power loss: JetStream's default
   * too); `always` — also fdatasync'ed before the answer (they survive a power loss).
   */
  EXCHANGE_JOURNAL_FSYNC: z.enum(["off", "always"], { message: "must be off or always" }).default("off"),
  /** Binance keys; other venues read `<ID>_API_KEY`, `<ID>_SECRET`, `<ID>_PASSWORD` likewise. */
  BINANCE_API_KEY: z.string().optional(),
  BINANCE_SECRET: z.string().optional(),
  /** Overrides the origin of every Binance REST URL (a local emulator); `<ID>_API_URL` for others. */
  BINANCE_API_URL: z.string().url({ message: "must be a URL" }).optional(),
  /** Overrides the origin of the public market-data REST URLs historical candles are fetched from (tests, a mirror). */
  MARKET_DATA_URL: z.string().url({ message: "must be a URL" }).optional(),
  /** Symbols of the paper venue's simulated market. */
  PAPER_SYMBOLS: z
    .string()
    .default("BTC/USDT,ETH/USDT")
    .transform((s) =>
      s
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v.length > 0),
    )
    .pipe(z.array(z.string().regex(/^[A-Z0-9]+\/[A-Z0-9]+$/, "symbols such as BTC/USDT")).min(1)),
  /** Starting balances of the paper account, `CCY:amount` pairs. */
  PAPER_BALANCES: z
    .string()
    .default("USDT:100000")
    .transform((s, ctx) => {
      const out: Record<string, number> = {};
      for (const pair of s
        .split(",")
        .map((p) => p.trim())
        .filter((p) => p.length > 0)) {
        const [ccy, amount] = pair.split(":");
        const n = Number(amount);
        if (ccy === undefined || !/^[A-Z0-9]+$/.test(ccy) || !Number.isFinite(n) || n < 0) {
          ctx.addIssue({ code: "custom", message: `"${pair}" is not CCY:amount (e.g. USDT:100000)` });
          return z.NEVER;
        }
        out[ccy] = n;
      }
      return out;
    }),
  /** Milliseconds between simulated bars of the paper market (each bar is one simulated minute). */
  PAPER_TICK_MS: count(1_000),
  /** Seed of the paper market simulator. */
  PAPER_SEED: z.string().min(1).default("bot4"),
  /** Adverse slippage on the paper venue's taker fills, in basis points. */
  PAPER_SLIPPAGE_BPS: z.coerce.number({ message: "must be a number" }).min(0).max(1_000).default(1),
  /** Added to every manifest port by the launcher, to run a second system (or a test) beside the first. */
  BOT4_PORT_OFFSET: z.coerce.number({ message: "must be a number" }).int().min(0).max(50_000).default(0),
  /** Bind a service to a non-loopback host without API keys (logs a loud warning). */
  BOT4_ALLOW_INSECURE_BIND: flag(false),
  /** Requests per second per client on a service's HTTP side (token bucket refill); 0 disables. */
  BOT4_RATE_LIMIT: z.coerce.number({ message: "must be a number" }).min(0).default(100),
  /** Token bucket size per client (the burst a client may send at once). */
  BOT4_RATE_BURST: count(200),
  /** Largest accepted HTTP request body in bytes (413 above). */
  BOT4_BODY_LIMIT: count(1_048_576),
  /** Milliseconds the coordinator waits for an agent's answer before a Timeout error naming it. */
  BOT4_TOOL_TIMEOUT_MS: count(10_000),
  /** Webhook receivers (comma-separated http(s) URLs); empty: no webhooks. */
  BOT4_WEBHOOK_URLS: z
    .string()
    .default("")
    .transform((s) =>
      s
        .split(",")
        .map((u) => u.trim())
        .filter((u) => u.length > 0),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/, message: "webhook URLs are http(s) URLs" }))),
  /** HMAC-SHA256 key of the `x-bot4-signature` header; required with BOT4_WEBHOOK_URLS. */
  BOT4_WEBHOOK_SECRET: z.string().min(16, "at least 16 characters").optional(),
  /** What is sent: any of fill, strategy, alert, kill_switch (comma-separated). */
  BOT4_WEBHOOK_EVENTS: z
    .string()
    .default("fill,strategy,alert,kill_switch")
    .transform((s) =>
      s
        .split(",")
        .map((k) => k.trim())
        .filter((k) => k.length > 0),
    )
    .pipe(z.array(z.enum(["fill", "strategy", "alert", "kill_switch"])).min(1)),
  /** Attempts after the first failed delivery (network error, timeout, 5xx, 408, 429). */
  BOT4_WEBHOOK_RETRIES: z.coerce.number({ message: "must be a number" }).int().min(0).max(20).default(5),
  /** First retry delay in ms; doubled per attempt up to 30 s. */
  BOT4_WEBHOOK_BACKOFF_MS: count(500),
  /** Milliseconds one delivery attempt may take. */
  BOT4_WEBHOOK_TIMEOUT_MS: count(5_000),
  /** How the trigger runs functions: in this process (local default) or as AWS Lambda through Invoke. */
  FUNCTION_INVOKER: z
    .enum(["inprocess", "lambda"], { message: "must be inprocess or lambda" })
    .default("inprocess"),
  /** Most messages the trigger hands a function in one batch. */
  TRIGGER_BATCH_SIZE: count(256),
  /** Milliseconds the trigger waits for a batch to fill once its first message is in hand (0: take what is buffered). */
  TRIGGER_MAX_WAIT_MS: z.coerce.number({ message: "must be a number" }).int().min(0).default(0),
  /** Deliveries of one message before it is dead-lettered. */
  TRIGGER_MAX_DELIVERIES: count(5),
  /** First retry delay in ms after a failure; doubled per delivery up to TRIGGER_BACKOFF_MAX_MS. */
  TRIGGER_BACKOFF_BASE_MS: count(500),
  TRIGGER_BACKOFF_MAX_MS: count(30_000),
  /** Milliseconds JetStream waits for an ack before redelivering (must exceed a batch's run time). */
  TRIGGER_ACK_WAIT_MS: count(30_000),
  /** Lambda endpoint override (LocalStack, or `npm run functions:host`); the AWS default when unset. */
  AWS_ENDPOINT_URL: z.string().url({ message: "must be a URL" }).optional(),
  AWS_REGION: z.string().min(1).default("us-east-1"),
  /** Prefix of the deployed Lambda names: function `compliance` is invoked as `<prefix>compliance`. */
  LAMBDA_FUNCTION_PREFIX: z.string().default(""),
  /** Port of the local Lambda host (`npm run functions:host`). */
  LAMBDA_HOST_PORT: z.coerce.number({ message: "must be a number" }).int().min(0).max(65_535).default(9001),
  /**
   * The paper strategy the strategy agent creates on its first start: `default` (an MA crossover 3/8 on
   * BTC/USDT with 1 500 USDT, hotpath/strategy/config.ts), `off`, or a strategy config as JSON.
   */
  STRATEGY_DEFAULT: z.string().min(1).default("default"),
  /** Comma-separated unified symbols nobody may trade (e.g. `LUNA/USDT,FTT/USDT`). */
  COMPLIANCE_RESTRICTED_SYMBOLS: z
    .string()
    .default("")
    .transform((s) =>
      s
        .split(",")
        .map((k) => k.trim().toUpperCase())
        .filter((k) => k.length > 0),
    ),
  /** Largest notional (amount × price, quote currency) of a single order. */
  COMPLIANCE_MAX_ORDER_NOTIONAL: positive(250_000),
  /** Account equity (quote currency) that MAX_POSITION_SIZE is a fraction of. */
  COMPLIANCE_ACCOUNT_EQUITY: positive(100_000),
  /** Opposite-side fills on one symbol by one account inside this many ms are a wash trade. */
  COMPLIANCE_WASH_WINDOW_MS: count(60_000),
  /** Rolling window (ms) of the order-to-trade and cancel ratios. */
  COMPLIANCE_RATIO_WINDOW_MS: count(300_000),
  /** Orders in the window before the ratios are judged. */
  COMPLIANCE_RATIO_MIN_ORDERS: count(20),
  /** Most orders per fill in the window (spoofing/layering heuristic). */
  COMPLIANCE_MAX_ORDER_TO_TRADE: positive(20),
  /** Largest share of orders canceled in the window. */
  COMPLIANCE_MAX_CANCEL_RATIO: fraction(0.9),
  /** Largest relative distance of a limit price from the last trade price (0.05 = 5%). */
  COMPLIANCE_PRICE_BAND: fraction(0.05),
  /** The trade ledger's PostgreSQL (`postgres://user@host:5432/db`); unset: PGlite under BOT4_DATA_DIR. */
  POSTGRES_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, "must be a postgres:// or postgresql:// URL")
    .optional(),
  /** Milliseconds between the InfraEngineer's scrape-and-evaluate cycles (its tick commands). */
  INFRA_INTERVAL_MS: count(5_000),
  /** nats-server's monitoring endpoint (`-m` port), e.g. http://127.0.0.1:8222; unset: JetStream account info only. */
  INFRA_NATS_MONITOR_URL: z.string().url({ message: "must be a URL" }).optional(),
  /** Run the IntegrationValidator on an agent when a new version of it registers. */
  VALIDATE_ON_REGISTER: flag(true),
  /** Generated inputs per tool in one validation run. */
  VALIDATE_INPUTS_PER_TOOL: count(50),
  /** Host names the HTTP services answer besides loopback and the bind host (comma-separated; `*`: any). */
  BOT4_ALLOWED_HOSTS: commaList(),
  /** Browser origins accepted besides loopback and same-origin pages (comma-separated, exact). */
  BOT4_ALLOWED_ORIGINS: commaList(),
  /** Origins that get CORS answers (comma-separated, exact); empty: CORS closed. */
  BOT4_CORS_ORIGINS: commaList(),
  /** Most members of one JSON-RPC batch (HTTP, NATS, MCP); every member counts against the rate limit. */
  BOT4_RPC_BATCH_MAX: z.coerce.number({ message: "must be a number" }).int().min(1).max(1_000).default(100),
  /** Tool natures the MCP server lists and runs (comma-separated: read, write, trade). */
  BOT4_MCP_TOOLSETS: z
    .string()
    .default("read,write,trade")
    .transform((s) =>
      s
        .split(",")
        .map((v) => v.trim().toLowerCase())
        .filter((v) => v.length > 0),
    )
    .pipe(
      z.array(z.enum(["read", "write", "trade"], { message: "toolsets are read, write and trade" })).min(1),
    ),
  /** Place orders on a non-paper venue through MCP without the user's confirmation (clients without elicitation). */
  BOT4_MCP_ALLOW_UNCONFIRMED_LIVE: flag(false),
  /** Orders one MCP session may place per minute (0: none). */
  BOT4_MCP_ORDERS_PER_MINUTE: z.coerce
    .number({ message: "must be a number" })
    .int()
    .min(0)
    .max(10_000)
    .default(10),
  /** Notional (amount × price, quote currency) one MCP session may place per UTC day. */
  BOT4_MCP_NOTIONAL_PER_DAY: z.coerce
    .number({ message: "must be a number" })
    .min(0)
    .max(1e12)
    .default(100_000),
  /** Most concurrent MCP sessions of the coordinator (the least recently used is closed beyond). */
  BOT4_MCP_SESSIONS_MAX: z.coerce
    .number({ message: "must be a number" })
    .int()
    .min(1)
    .max(10_000)
    .default(100),
  /** Milliseconds a CPU-heavy tool call (Monte Carlo, optimisation, backtest, training) may run in the pool. */
  BOT4_CPU_DEADLINE_MS: z.coerce
    .number({ message: "must be a number" })
    .int()
    .min(100)
    .max(3_600_000)
    .default(60_000),
  /** Worker threads of the CPU pool (default: cores − 1, at least 1). */
  BOT4_CPU_WORKERS: z.coerce.number({ message: "must be a number" }).int().min(1).max(64).optional(),
  /** Failed authentications per minute per remote address before 429 (0 disables the limit). */
  BOT4_AUTH_FAILURES_PER_MINUTE: z.coerce
    .number({ message: "must be a number" })
    .int()
    .min(0)
    .max(100_000)
    .default(10),
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
