import { RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { Bus } from "../../adapters/nats/bus.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { queueGroup, streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { startLocalCluster } from "../../infra/scale/cluster.ts";
import { type BenchCase, type BenchResult, measureSequential } from "../harness.ts";

/**
 * The figures behind docs/deploy.md's scale-out plan, on a local 3-node JetStream cluster:
 *   - publish with ack to an R1 and an R3 stream (sequential latency; windowed throughput);
 *   - a tool subject served by 3 replicas in one queue group, on 3 different servers: how the
 *     calls spread, and the round trip when requester and replica sit on different servers.
 */
const WINDOW = 256;

async function retry<T>(op: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function windowed(total: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < total; i += WINDOW) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(total, i + WINDOW); j++) batch.push(op(j));
    await Promise.all(batch);
  }
  return Math.round(total / (Number(process.hrtime.bigint() - start) / 1e9));
}

const bench: BenchCase = {
  name: "deploy",
  order: 90,
  async run(ctx) {
    const cluster = await startLocalCluster(3);
    const results: BenchResult[] = [];
    const buses: Bus[] = [];
    try {
      for (const [i, url] of cluster.urls.entries()) {
        buses.push(
          await Bus.connect({
            url,
            name: `bench-deploy-${i}`,
            logger: quietLogger("bench"),
            maxReconnectAttempts: 10,
          }),
        );
      }
      const [a, , c] = buses as [Bus, Bus, Bus];
      const iterations = Math.max(200, Math.round(2000 * ctx.scale));
      const total = Math.max(2000, Math.round(20_000 * ctx.scale));
      // Two of the real streams, one per replication factor, so both run on the same cluster.
      const cases = [
        { stream: streams.MARKET, replicas: 1, subject: subjects.market.of("bench", "candle", "BTC/USDT") },
        { stream: streams.EVENTS, replicas: 3, subject: subjects.trade.fill },
      ];
      for (const k of cases) {
        await retry(() =>
          a.jsm.streams.add({
            name: k.stream.name,
            subjects: [...k.stream.subjects],
            retention: RetentionPolicy.Limits,
            storage: StorageType.File,
            num_replicas: k.replicas,
            duplicate_window: k.stream.duplicate_window,
          }),
        );
        const payload = makeEvent({
          type: "fill.created",
          source: "bench",
          subject: k.subject,
          data: { qty: 1 },
        });
        let n = 0;
        const seq = await measureSequential(
          () => a.publishEvent(payload, { msgID: `s-${k.replicas}-${n++}` }),
          iterations,
          100,
        );
        const throughput = await windowed(total, (i) =>
          a.publishEvent(payload, { msgID: `w-${k.replicas}-${i}` }),
        );
        ctx.log(
          `R${k.replicas} publish+ack: p50 ${seq.latency.p50_us} µs, p99 ${seq.latency.p99_us} µs; ${throughput} msg/s (window ${WINDOW})`,
        );
        results.push({
          case: `deploy.jetstream_publish_R${k.replicas}`,
          unit: "publish with ack (3-node cluster)",
          latency: seq.latency,
          throughput,
          notes: { window: WINDOW, windowed_msgs: total },
        });
      }

      const agent = "bench_agent";
      const served = [0, 0, 0];
      const subs = buses.map((bus, i) =>
        bus.nc.subscribe(subjects.tools.of(agent), {
          queue: queueGroup(agent),
          callback: (_err, msg) => {
            served[i] = (served[i] ?? 0) + 1;
            msg.respond("ok");
          },
        }),
      );
      await Promise.all(buses.map((bus) => bus.nc.flush()));
      await new Promise((r) => setTimeout(r, 500)); // interest propagates over the routes
      const calls = Math.max(3000, Math.round(30_000 * ctx.scale));
      const rr = await measureSequential(
        () => c.request(subjects.tools.of(agent), "ping", 5_000),
        calls,
        200,
      );
      for (const s of subs) s.unsubscribe();
      const shares = served.map((s) => Math.round((1000 * s) / served.reduce((x, y) => x + y, 0)) / 10);
      ctx.log(`queue group over 3 servers: shares ${shares.join(" / ")} %; p50 ${rr.latency.p50_us} µs`);
      results.push({
        case: "deploy.queue_group_3_replicas",
        unit: "request/reply, 3 replicas on 3 servers",
        latency: rr.latency,
        throughput: rr.throughput,
        notes: { share_pct_0: shares[0] ?? 0, share_pct_1: shares[1] ?? 0, share_pct_2: shares[2] ?? 0 },
      });
    } finally {
      for (const bus of buses) await bus.drain();
      await cluster.stop();
    }
    return results;
  },
};

export default bench;
