import type { RunningService } from "../../hotpath/kit/types.ts";

export interface BannerInput {
  environment: string;
  /** Which venues trade and how (paper only, sandbox, live), from core/venues.ts. */
  trading: string;
  nats: string;
  /** The operator user's credentials file of the embedded, authenticated nats-server. */
  operatorCredentials?: string;
  services: readonly Pick<RunningService, "agent" | "url">[];
  triggerUrl: string;
  notBuilt: readonly string[];
  keyed: boolean;
}

/** The URLs a user needs once the system is up, dashboard first. */
export function bannerUrls(b: BannerInput) {
  const coordinator = b.services.find((s) => s.agent === "coordinator")?.url;
  return {
    ...(coordinator !== undefined
      ? { dashboard: `${coordinator}/`, mcp: `${coordinator}/mcp`, rpc: `${coordinator}/rpc` }
      : {}),
    services: Object.fromEntries(b.services.map((s) => [s.agent, s.url])),
    trigger: b.triggerUrl,
    nats: b.nats,
  };
}

/** The start-up banner for a terminal: plain lines, no JSON. */
export function bannerText(b: BannerInput): string {
  const urls = bannerUrls(b);
  const row = (label: string, value: string) => `  ${label.padEnd(13)} ${value}`;
  const lines = [
    "",
    `Bot4 is up — ${b.trading} (${b.environment})`,
    "",
    ...(urls.dashboard !== undefined
      ? [row("Dashboard", `${urls.dashboard}${b.keyed ? "   (sign in with a key of BOT4_API_KEYS)" : ""}`)]
      : []),
    ...(urls.mcp !== undefined ? [row("MCP", urls.mcp), row("JSON-RPC", urls.rpc ?? "")] : []),
    "",
    ...b.services.map((s) => row(s.agent, s.url)),
    row("trigger", `${b.triggerUrl}/metrics`),
    row("NATS", b.nats),
    ...(b.operatorCredentials !== undefined
      ? [row("", `authenticated; operator user "admin" in ${b.operatorCredentials}`)]
      : []),
    ...(b.notBuilt.length > 0 ? ["", row("not built yet", b.notBuilt.join(", "))] : []),
    "",
    "  Ctrl-C stops everything.",
    "",
  ];
  return `${lines.join("\n")}\n`;
}
