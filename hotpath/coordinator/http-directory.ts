import { randomUUID } from "node:crypto";
import { RpcCode, RpcResponse, TOOL_EXECUTE } from "../../core/protocol/jsonrpc.ts";
import { rateLimitWaitMs } from "../../core/protocol/retry-after.ts";
import { headers } from "../../core/subjects.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { ToolListing, type ToolDirectory } from "./directory.ts";

export interface CoordinatorClientOptions {
  /** Base URL of the coordinator, e.g. http://127.0.0.1:3000. */
  url: string;
  /** Bearer key, when the coordinator has BOT4_API_KEYS. */
  apiKey?: string;
  /** Milliseconds per HTTP request. */
  timeoutMs: number;
}

/**
 * The coordinator could not be reached, or answered something that is not its protocol. A ToolError
 * (-32002, unavailable) so an MCP client sees the message rather than "internal error".
 */
export class CoordinatorUnreachableError extends ToolError {
  override name = "CoordinatorUnreachableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(RpcCode.AgentUnavailable, message, undefined, options);
  }
}

/**
 * A small client of the coordinator's HTTP API: the listing, status, and `tool.execute` over
 * `POST /rpc`. Every answer is parsed with the coordinator's own schemas.
 */
export class CoordinatorClient implements ToolDirectory {
  constructor(private readonly options: CoordinatorClientOptions) {}

  /**
   * One request; a 429 with Retry-After (this client shares its address's rate-limit bucket with any
   * other local caller, the IntegrationValidator among them) is waited out and sent again, up to
   * RATE_LIMIT_RETRIES times (core/protocol/retry-after.ts).
   */
  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.send(path, init);
      const waitMs = rateLimitWaitMs(res, attempt);
      if (waitMs === undefined) return res;
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    const h = new Headers(init.headers);
    if (this.options.apiKey !== undefined) h.set("authorization", `Bearer ${this.options.apiKey}`);
    try {
      return await fetch(new URL(path, this.options.url), {
        ...init,
        headers: h,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      const reason =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new CoordinatorUnreachableError(
        `cannot reach the coordinator at ${this.options.url}: ${reason} (is \`npm start\` running? set BOT4_URL or --url)`,
        { cause: err },
      );
    }
  }

  private async json(path: string): Promise<unknown> {
    const res = await this.request(path);
    const body: unknown = await res.json().catch(() => undefined);
    if (!res.ok) throw httpError(res, body);
    return body;
  }

  async list() {
    return ToolListing.parse(await this.json("/tools")).agents;
  }

  status(): Promise<unknown> {
    return this.json("/status");
  }

  async call(agent: string, tool: string, args: unknown, meta: { correlationId?: string } = {}) {
    const id = randomUUID();
    const h: Record<string, string> = { "content-type": "application/json", "x-request-id": id };
    if (meta.correlationId !== undefined) h[headers.correlationId] = meta.correlationId;
    const res = await this.request("/rpc", {
      method: "POST",
      headers: h,
      body: JSON.stringify({ jsonrpc: "2.0", id, method: TOOL_EXECUTE, params: { agent, tool, args } }),
    });
    const body: unknown = await res.json().catch(() => undefined);
    if (!res.ok) throw httpError(res, body);
    const response = RpcResponse.safeParse(body);
    if (!response.success)
      throw new CoordinatorUnreachableError(`unexpected answer from ${this.options.url}/rpc`);
    if ("error" in response.data) {
      const { code, message, data } = response.data.error;
      throw new ToolError(code, message, data);
    }
    return response.data.result;
  }
}

/** An HTTP-level refusal (401, 429, 413…) as a ToolError with the server's message. */
function httpError(res: Response, body: unknown): ToolError {
  const error = (body as { error?: { message?: unknown } } | undefined)?.error;
  const message = typeof error?.message === "string" ? error.message : res.statusText;
  const retry = res.headers.get("retry-after");
  return new ToolError(RpcCode.InternalError, `HTTP ${res.status}: ${message}`, {
    status: res.status,
    ...(retry !== null ? { retryAfter: Number(retry) } : {}),
  });
}
