import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type EventEnvelope, eventJson, makeEvent } from "../../core/protocol/envelope.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { frame, Journal, unframe } from "./journal.ts";
import { releaseJournalDir, takeJournalDirs } from "./journal-dir.ts";

/**
 * The journal on a real file system: framing, an append as one group line (and the line per event of
 * older journals still read), a torn last record dropped (and the file cut back),
 * rotation and compaction once JetStream acked, the bound, and fsync=always.
 */
const root = mkdtempSync(join(tmpdir(), "bot4-journal-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const logger = quietLogger();
let n = 0;
const dir = () => join(root, `j${++n}`);
const entry = (i: number, pad = 0) => ({
  msgId: `order:paper:p-${i}:accepted:0`,
  event: makeEvent({
    id: `order:paper:p-${i}:accepted:0`,
    type: "order.accepted",
    source: "exchange",
    subject: "events.trade.order.accepted",
    data: { i, pad: "x".repeat(pad) },
  }),
});
const files = (d: string) => readdirSync(d).filter((f) => f.endsWith(".jnl"));

describe("exchange journal", () => {
  it("frames a record with a checksum that a changed byte or a cut line fails", () => {
    const line = frame({ a: 1, q: 2 }).trimEnd();
    expect(unframe(line)).toEqual({ a: 1, q: 2 });
    expect(unframe(line.replace('"q":2', '"q":3'))).toBeUndefined();
    expect(unframe(line.slice(0, -1))).toBeUndefined();
  });

  it("writes an append as one group line, each event's data once, read back as the same envelopes", () => {
    const [a, b] = [dir(), dir()];
    const plain = entry(1);
    const keyed = { ...entry(2), positionKey: 'paper.default."BTC/USDT"' };
    // Ids and data beyond ASCII: multi-byte UTF-8, a surrogate pair, control characters JSON escapes;
    // a time and correlation id of its own, a causation id, an event id that is not the message id.
    const odd = { ...entry(3), msgId: "order:€:\u0001\u001f:😀:\n", positionKey: "ä\u0000ß" };
    odd.event = {
      ...odd.event,
      id: "ev-€",
      time: "2026-01-01T00:00:00.001Z",
      correlationid: "corr-😀",
      causationid: "cause-\u0002",
      data: { ...odd.event.data, pad: "é😀\u0002" },
    };
    const all: { msgId: string; event: EventEnvelope; positionKey?: string }[] = [plain, keyed, odd];
    const given = Journal.open({ dir: a }, logger).journal;
    const made = Journal.open({ dir: b }, logger).journal;
    expect(given.append(all.map((e) => ({ ...e, data: JSON.stringify(e.event.data) })))).toBe(3);
    expect(made.append(all)).toBe(3);
    given.close();
    made.close();
    const text = (d: string) => readFileSync(join(d, files(d).at(-1) as string), "utf8");
    const group = (e: (typeof all)[number]) => ({
      m: e.msgId,
      y: e.event.type,
      s: e.event.subject,
      ...(e.event.id !== e.msgId ? { i: e.event.id } : {}),
      ...(e.event.time !== plain.event.time ? { t: e.event.time } : {}),
      ...(e.event.correlationid !== plain.event.correlationid ? { c: e.event.correlationid } : {}),
      ...(e.event.causationid !== undefined ? { x: e.event.causationid } : {}),
      ...(e.positionKey !== undefined ? { p: e.positionKey } : {}),
      d: e.event.data,
    });
    // The reference: the group record serialised whole and framed (crc32 of its JSON text).
    const reference = [
      frame({ a: 0, q: 0 }),
      frame({
        j: 1,
        o: "exchange",
        t: plain.event.time,
        c: plain.event.correlationid,
        g: all.map(group),
      }),
    ].join("");
    expect(text(a)).toBe(reference);
    expect(text(b)).toBe(reference);
    const { contents } = Journal.open({ dir: a }, logger);
    expect(contents.torn).toBe(0);
    expect(contents.entries).toEqual(
      all.map((e, k) => ({
        j: k + 1,
        msgId: e.msgId,
        event: e.event,
        ...(e.positionKey ? { positionKey: e.positionKey } : {}),
      })),
    );
    // What JetStream is sent of a read-back event is the text JSON.stringify makes of the original.
    for (const [k, e] of contents.entries.entries()) {
      expect(eventJson(e.event)).toBe(JSON.stringify(all[k]?.event));
      expect(eventJson(e.event, JSON.stringify(e.event.data))).toBe(JSON.stringify(all[k]?.event));
    }
  });

  it("reads the line per event of journals written before groups, and groups after them", () => {
    const d = dir();
    mkdirSync(d, { recursive: true });
    const es = [1, 2, 3, 4].map((i) => entry(i));
    const legacy = [
      frame({ a: 0, q: 0 }),
      frame({ j: 1, m: es[0]?.msgId, e: es[0]?.event }),
      frame({ j: 2, m: es[1]?.msgId, e: es[1]?.event, p: "paper.default.BTC" }),
    ].join("");
    writeFileSync(join(d, "0000000000000001.jnl"), legacy);
    const { journal, contents } = Journal.open({ dir: d }, logger);
    expect(contents.entries.map((e) => [e.j, e.msgId, e.positionKey])).toEqual([
      [1, es[0]?.msgId, undefined],
      [2, es[1]?.msgId, "paper.default.BTC"],
    ]);
    expect(contents.entries[0]?.event).toEqual(es[0]?.event);
    expect(journal.append(es.slice(2))).toBe(4);
    journal.close();
    const again = Journal.open({ dir: d }, logger).contents;
    expect(again.entries.map((e) => e.j)).toEqual([1, 2, 3, 4]);
    expect(again.entries.map((e) => e.event)).toEqual(es.map((e) => e.event));
  });

  it("reads back what was appended, after the last ack mark, across a reopen", () => {
    const d = dir();
    const { journal } = Journal.open({ dir: d }, logger);
    expect(journal.append([entry(1), entry(2)])).toBe(2);
    journal.acked(1, 10);
    expect(journal.append([entry(3)])).toBe(3);
    const { journal: again, contents } = Journal.open({ dir: d }, logger);
    expect(contents.mark).toEqual({ j: 1, seq: 10 });
    expect(contents.entries.filter((e) => e.j > contents.mark.j).map((e) => e.event.data)).toEqual([
      { i: 2, pad: "" },
      { i: 3, pad: "" },
    ]);
    expect(contents.torn).toBe(0);
    expect(again.next).toBe(4);
    again.close();
  });

  it("drops a torn last record and cuts the file back to the last whole line", () => {
    const d = dir();
    const { journal } = Journal.open({ dir: d }, logger);
    journal.append([entry(1)]);
    const file = join(d, files(d).at(-1) as string);
    const whole = statSync(file).size;
    // What kill -9 in the middle of a write leaves: the start of a record, no newline.
    appendFileSync(file, frame({ j: 2, m: "x", e: entry(2).event }).slice(0, 40));
    const { journal: again, contents } = Journal.open({ dir: d }, logger);
    expect(contents.torn).toBe(1);
    expect(contents.entries.map((e) => e.j)).toEqual([1]);
    expect(statSync(file).size).toBe(whole);
    // The torn record's seq is given again; the next read sees both entries whole.
    expect(again.append([entry(2)])).toBe(2);
    const third = Journal.open({ dir: d }, logger).contents;
    expect(third.entries.map((e) => e.j)).toEqual([1, 2]);
    expect(third.torn).toBe(0);
  });

  it("drops a torn group whole: none of its events is read, the next append reuses their seqs", () => {
    const d = dir();
    const { journal } = Journal.open({ dir: d }, logger);
    journal.append([entry(1)]);
    journal.close();
    const file = join(d, files(d).at(-1) as string);
    const whole = statSync(file).size;
    // The start of a three-event group, cut inside its second event's data.
    const line = frame({
      j: 2,
      o: "exchange",
      t: entry(2).event.time,
      c: entry(2).event.correlationid,
      g: [2, 3, 4].map((i) => ({
        m: entry(i).msgId,
        y: "order.accepted",
        s: "events.trade.order.accepted",
        d: { i },
      })),
    });
    appendFileSync(file, line.slice(0, line.indexOf('"d":{"i":3') + 6));
    const { journal: again, contents } = Journal.open({ dir: d }, logger);
    expect(contents.torn).toBe(1);
    expect(contents.entries.map((e) => e.j)).toEqual([1]);
    expect(statSync(file).size).toBe(whole);
    expect(again.append([entry(2), entry(3)])).toBe(3);
    again.close();
    expect(Journal.open({ dir: d }, logger).contents.entries.map((e) => e.j)).toEqual([1, 2, 3]);
  });

  it("rotates segments and deletes them once JetStream acked them, keeping the journal small", () => {
    const d = dir();
    const { journal } = Journal.open({ dir: d, segmentBytes: 2_000, compactBytes: 1_000 }, logger);
    for (let i = 1; i <= 50; i++) journal.append([entry(i, 100)]);
    const before = files(d).length;
    expect(before).toBeGreaterThan(3);
    journal.acked(20, 20);
    expect(files(d).length).toBeLessThan(before);
    journal.acked(50, 50);
    expect(files(d)).toHaveLength(1);
    expect(journal.bytes).toBeLessThan(1_000);
    journal.close();
    const after = Journal.open({ dir: d }, logger).contents;
    expect(after.entries).toHaveLength(0);
  });

  it("is full past its bound, and a clean close after every ack leaves nothing behind", () => {
    const d = dir();
    const { journal } = Journal.open({ dir: d, maxBytes: 5_000 }, logger);
    for (let i = 1; i <= 20; i++) journal.append([entry(i, 300)]);
    expect(journal.full).toBe(true);
    journal.acked(20, 20);
    expect(journal.full).toBe(false);
    journal.close();
    expect(files(d)).toEqual([]);
  });

  it("keeps unacked entries on close, and with fsync=always writes the same records", () => {
    const d = dir();
    const { journal } = Journal.open({ dir: d, fsync: "always" }, logger);
    journal.append([entry(1), entry(2)]);
    journal.close();
    const { contents } = Journal.open({ dir: d }, logger);
    expect(contents.entries.map((e) => e.msgId)).toEqual([entry(1).msgId, entry(2).msgId]);
    expect(readFileSync(join(d, files(d)[0] as string), "utf8").split("\n")[0]).toMatch(/^[0-9a-f]{8} \{/);
  });

  it("gives each exchange on one stream its own directory, and hands a dead holder's to the next start", () => {
    const base = dir();
    const first = takeJournalDirs(base);
    const second = takeJournalDirs(base);
    expect(second.own).not.toBe(first.own);
    expect([first.orphans, second.orphans]).toEqual([[], []]);
    // A journal whose holder died (kill -9): its lock names a process that is gone.
    releaseJournalDir(second.own, false);
    writeFileSync(join(second.own, "lock"), "2147483646");
    const third = takeJournalDirs(base);
    expect(third.own).toBe(second.own);
    releaseJournalDir(first.own, false);
    const fourth = takeJournalDirs(base);
    expect(fourth).toEqual({ own: first.own, orphans: [] });
    releaseJournalDir(fourth.own, true);
    expect(existsSync(first.own)).toBe(false);
  });
});
