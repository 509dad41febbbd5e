import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { LambdaHandler } from "../../adapters/lambda/handler.ts";
import type { Logger } from "../../core/telemetry/log.ts";

/**
 * A local stand-in for the AWS Lambda Invoke API, for the project's own handlers: what the trigger's
 * Lambda invoker (the real `@aws-sdk/client-lambda`) talks to in tests and under
 * `npm run functions:host` when LocalStack is not available.
 *
 *   POST /2015-03-31/functions/{name}/invocations
 *     X-Amz-Invocation-Type: RequestResponse (default) → 200 + the handler's JSON result
 *                            Event → 202 (runs in the background), DryRun → 204
 *     the handler threw      → 200 + X-Amz-Function-Error: Unhandled, body {errorMessage, errorType, stackTrace}
 *     unknown function       → 404 ResourceNotFoundException
 *     reserved concurrency exceeded → 429 TooManyRequestsException with Retry-After
 *     body is not JSON       → 400 InvalidRequestContentException
 */
export interface LambdaHostOptions {
  /** Lambda name → handler (the name as the invoker sends it, prefix included). */
  handlers: ReadonlyMap<string, LambdaHandler>;
  logger: Logger;
  /** Default 0 (a free port). */
  port?: number;
  host?: string;
  /** Concurrent invocations per function before 429, like reserved concurrency. Default 10. */
  concurrency?: number;
  /** Seconds announced in Retry-After on a 429. Default 1. */
  retryAfterSeconds?: number;
}

export interface RunningLambdaHost {
  readonly url: string;
  readonly port: number;
  /** Invocations per function, by outcome (for tests and the log). */
  readonly stats: ReadonlyMap<string, { ok: number; error: number; throttled: number }>;
  stop(): Promise<void>;
}

/** Accepts a plain name, `name:qualifier`, or a function ARN. */
export function functionNameOf(raw: string): string {
  const decoded = decodeURIComponent(raw);
  const arn = /^arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:([^:]+)(:.+)?$/.exec(decoded);
  if (arn?.[1] !== undefined) return arn[1];
  return decoded.split(":")[0] ?? decoded;
}

export function lambdaHostApp(options: LambdaHostOptions) {
  const running = new Map<string, number>();
  const stats = new Map<string, { ok: number; error: number; throttled: number }>();
  const limit = options.concurrency ?? 10;
  const app = new Hono();
  const statsOf = (name: string) => {
    let s = stats.get(name);
    if (s === undefined) {
      s = { ok: 0, error: 0, throttled: 0 };
      stats.set(name, s);
    }
    return s;
  };
  const awsError = (
    type: string,
    message: string,
    status: 400 | 404 | 429,
    extra: Record<string, string> = {},
  ) =>
    new Response(
      JSON.stringify({
        Type: "User",
        message,
        ...(type === "TooManyRequestsException"
          ? { Reason: "ReservedFunctionConcurrentInvocationLimitExceeded" }
          : {}),
      }),
      {
        status,
        headers: {
          "content-type": "application/json",
          "x-amzn-errortype": type,
          "x-amzn-requestid": randomUUID(),
          ...extra,
        },
      },
    );

  app.post("/2015-03-31/functions/:name/invocations", async (c) => {
    const name = functionNameOf(c.req.param("name"));
    const handler = options.handlers.get(name);
    if (handler === undefined) {
      return awsError("ResourceNotFoundException", `Function not found: ${name}`, 404);
    }
    const text = await c.req.text();
    let event: unknown = {};
    if (text.length > 0) {
      try {
        event = JSON.parse(text);
      } catch {
        return awsError("InvalidRequestContentException", "Could not parse request body into json", 400);
      }
    }
    const type = c.req.header("x-amz-invocation-type") ?? "RequestResponse";
    if (type === "DryRun") return c.body(null, 204);
    const active = running.get(name) ?? 0;
    if (active >= limit) {
      statsOf(name).throttled++;
      return awsError("TooManyRequestsException", "Rate Exceeded.", 429, {
        "retry-after": String(options.retryAfterSeconds ?? 1),
      });
    }
    running.set(name, active + 1);
    const requestId = randomUUID();
    const context = {
      functionName: name,
      functionVersion: "$LATEST",
      awsRequestId: requestId,
      invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
      memoryLimitInMB: "512",
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: requestId,
      callbackWaitsForEmptyEventLoop: false,
      getRemainingTimeInMillis: () => 900_000,
    };
    const invocation = (async () => {
      try {
        const result = await handler(event, context);
        statsOf(name).ok++;
        return { ok: true as const, body: JSON.stringify(result ?? null) };
      } catch (err) {
        statsOf(name).error++;
        const error = err instanceof Error ? err : new Error(String(err));
        options.logger.warn({ function: name, err: error.message }, "lambda handler threw");
        return {
          ok: false as const,
          body: JSON.stringify({
            errorMessage: error.message,
            errorType: error.name,
            stackTrace: (error.stack ?? "")
              .split("\n")
              .slice(1)
              .map((l) => l.trim()),
          }),
        };
      } finally {
        running.set(name, (running.get(name) ?? 1) - 1);
      }
    })();
    if (type === "Event") {
      void invocation;
      return c.body(null, 202, { "x-amzn-requestid": requestId });
    }
    const outcome = await invocation;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-amzn-requestid": requestId,
      "x-amz-executed-version": "$LATEST",
    };
    if (!outcome.ok) headers["x-amz-function-error"] = "Unhandled";
    return c.body(outcome.body, 200, headers);
  });
  app.get("/health", (c) => c.json({ status: "ok", functions: [...options.handlers.keys()] }));
  return { app, stats };
}

/** Starts the host on a real HTTP port. */
export function startLambdaHost(options: LambdaHostOptions): Promise<RunningLambdaHost> {
  const { app, stats } = lambdaHostApp(options);
  const host = options.host ?? "127.0.0.1";
  return new Promise((resolve) => {
    const server = serve(
      { fetch: app.fetch, port: options.port ?? 0, hostname: host },
      (info: AddressInfo) => {
        const url = `http://${host}:${info.port}`;
        options.logger.info({ url, functions: [...options.handlers.keys()] }, "lambda host listening");
        resolve({
          url,
          port: info.port,
          stats,
          stop: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              if ("closeAllConnections" in server) server.closeAllConnections();
            }),
        });
      },
    );
  });
}
