import { lookup } from "node:dns/promises";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { RpcCode } from "../protocol/jsonrpc.ts";
import { failure, httpStatusOf, rejected, ToolError, toRpcError } from "./errors.ts";
import { classifyFailure } from "./failures.ts";

/** A real DNS failure from the resolver (the `.invalid` TLD never resolves, RFC 2606). */
const dnsFailure = await lookup("no-such-host.invalid").then(
  () => undefined,
  (err: unknown) => err,
);

describe("every failure names its cause with a stable code", () => {
  it("a real ENOTFOUND, wrapped as ccxt and fetch wrap it, is a network failure, not an internal error", () => {
    expect((dnsFailure as { code?: string }).code).toBe("ENOTFOUND");
    class NetworkError extends Error {
      override name = "NetworkError";
    }
    const wrapped = new TypeError("fetch failed", { cause: dnsFailure });
    for (const err of [
      dnsFailure,
      wrapped,
      new NetworkError("binance GET … fetch failed", { cause: wrapped }),
    ]) {
      const rpc = toRpcError(err);
      expect(rpc.code).toBe(RpcCode.Upstream);
      expect(rpc.data).toMatchObject({ cause: "network", code: "network.unreachable", errno: "ENOTFOUND" });
      expect(rpc.message).toMatch(/^network: unreachable/);
    }
    expect(httpStatusOf(RpcCode.Upstream)).toBe(502);
  });

  it("names ccxt's exchange errors by class, and leaves a plain bug internal without its message", () => {
    class BaseError extends Error {}
    class ExchangeError extends BaseError {}
    class BadSymbol extends ExchangeError {}
    class DDoSProtection extends BaseError {}
    expect(classifyFailure(new BadSymbol("binance does not have market XYZ"))?.data).toEqual({
      cause: "exchange",
      code: "exchange.rejected",
    });
    expect(classifyFailure(new DDoSProtection("429"))?.data.code).toBe("exchange.rate_limited");
    expect(toRpcError(new Error("secret"))).toEqual({
      code: RpcCode.InternalError,
      message: "internal error",
      data: { cause: "internal", code: "internal" },
    });
  });

  it("ToolErrors keep their own cause, or get the default of their JSON-RPC code", () => {
    expect(toRpcError(failure(RpcCode.Rejected, "model", "model.missing", "no model")).data).toEqual({
      cause: "model",
      code: "model.missing",
    });
    expect(toRpcError(rejected("no", { reasons: [1] })).data).toEqual({
      reasons: [1],
      cause: "rejected",
      code: "domain.rejected",
    });
    expect(toRpcError(new ToolError(RpcCode.AgentUnavailable, "gone")).data).toEqual({
      cause: "unavailable",
      code: "agent.unavailable",
    });
    const zod = z.object({ a: z.number() }).safeParse({ a: "x" });
    expect(toRpcError(zod.error).data).toMatchObject({ cause: "input", code: "input.invalid" });
  });
});
