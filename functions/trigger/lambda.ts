import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  TooManyRequestsException,
} from "@aws-sdk/client-lambda";
import type { Config } from "../../core/config.ts";
import { BatchResult } from "../../core/functions/run.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { backoffDelay, sleep } from "./backoff.ts";
import { FunctionFailedError, type Invoker } from "./invoker.ts";

export interface LambdaInvokerOptions {
  config: Config;
  logger: Logger;
  /** Default: a client for config.AWS_REGION at config.AWS_ENDPOINT_URL, with the SDK's own retries off. */
  client?: LambdaClient;
  /** Retries of a throttled (429) call before the batch fails. Default 5. */
  throttleRetries?: number;
  /** First throttle delay in ms (doubled per retry, capped at 5 s) when the answer has no Retry-After. */
  throttleBaseMs?: number;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The Lambda name of a function: `<LAMBDA_FUNCTION_PREFIX><name>`. */
export const lambdaName = (config: Config, fn: string) => `${config.LAMBDA_FUNCTION_PREFIX}${fn}`;

/** A Lambda client as the trigger uses it: endpoint from AWS_ENDPOINT_URL (LocalStack, the local host). */
export function lambdaClient(config: Config): LambdaClient {
  return new LambdaClient({
    region: config.AWS_REGION,
    maxAttempts: 1,
    ...(config.AWS_ENDPOINT_URL !== undefined ? { endpoint: config.AWS_ENDPOINT_URL } : {}),
  });
}

/**
 * Invokes functions as AWS Lambda (`InvokeCommand`, RequestResponse). A function error (the
 * `X-Amz-Function-Error` header, which the SDK reports as `FunctionError` without throwing) fails the
 * batch; a throttle (429 TooManyRequestsException) is retried with backoff, honouring Retry-After.
 */
export function lambdaInvoker(options: LambdaInvokerOptions): Invoker {
  const client = options.client ?? lambdaClient(options.config);
  const retries = options.throttleRetries ?? 5;
  const base = options.throttleBaseMs ?? 100;
  return {
    kind: "lambda",
    async invoke(def, payload) {
      const name = lambdaName(options.config, def.name);
      const command = new InvokeCommand({
        FunctionName: name,
        InvocationType: "RequestResponse",
        Payload: encoder.encode(JSON.stringify(payload)),
      });
      for (let attempt = 0; ; attempt++) {
        let response: InvokeCommandOutput;
        try {
          response = await client.send(command);
        } catch (err) {
          if (err instanceof TooManyRequestsException && attempt < retries) {
            const retryAfter = Number(err.retryAfterSeconds);
            const delay =
              Number.isFinite(retryAfter) && retryAfter > 0
                ? retryAfter * 1000
                : backoffDelay(attempt + 1, base, 5_000);
            options.logger.warn({ function: name, attempt, delay }, "lambda throttled; retrying");
            await sleep(delay);
            continue;
          }
          throw err;
        }
        const text = response.Payload === undefined ? "" : decoder.decode(response.Payload);
        if (response.FunctionError !== undefined) {
          const detail = parseLambdaError(text);
          throw new FunctionFailedError(
            def.name,
            `lambda ${name} failed (${response.FunctionError}): ${detail.message}`,
            detail.type,
          );
        }
        const result = BatchResult.safeParse(safeJson(text));
        if (!result.success) {
          throw new FunctionFailedError(
            def.name,
            `lambda ${name} answered something that is not a batch result`,
          );
        }
        return result.data;
      }
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseLambdaError(text: string): { message: string; type?: string } {
  try {
    const value = JSON.parse(text) as { errorMessage?: unknown; errorType?: unknown };
    return {
      message: typeof value.errorMessage === "string" ? value.errorMessage : text,
      ...(typeof value.errorType === "string" ? { type: value.errorType } : {}),
    };
  } catch {
    return { message: text };
  }
}
