import {
  appendFileSync,
  existsSync,
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
import { makeEvent } from "../../core/protocol/envelope.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { frame, Journal, unframe } from "./journal.ts";
import { releaseJournalDir, takeJournalDirs } from "./journal-dir.ts";

/**
 * The journal on a real file system: framing, a torn last record dropped (and the file cut back),
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

  it("writes an entry given its event's JSON (text or bytes) byte for byte as one serialized whole", () => {
    const [a, b, c] = [dir(), dir(), dir()];
    const whole = Journal.open({ dir: a }, logger).journal;
    const spliced = Journal.open({ dir: b }, logger).journal;
    const bytes = Journal.open({ dir: c }, logger).journal;
    const plain = entry(1);
    const keyed = { ...entry(2), positionKey: 'paper.default."BTC/USDT"' };
    // Ids and data beyond ASCII: multi-byte UTF-8, a surrogate pair, control characters JSON escapes.
    const odd = { ...entry(3), msgId: "order:€:\u0001\u001f:😀:\n", positionKey: "ä\u0000ß" };
    odd.event = { ...odd.event, data: { ...odd.event.data, pad: "é😀\u0002" } };
    const all = [plain, keyed, odd];
    const views: Uint8Array[] = [];
    whole.append(all, views);
    // The event bytes handed back (what JetStream is sent) are each event's JSON as UTF-8.
    expect(views.map((v) => Buffer.from(v).toString("utf8"))).toEqual(
      all.map((e) => JSON.stringify(e.event)),
    );
    spliced.append(all.map((e) => ({ ...e, json: JSON.stringify(e.event) })));
    bytes.append(all.map((e) => ({ ...e, bytes: Buffer.from(JSON.stringify(e.event), "utf8") })));
    const text = (d: string) => readFileSync(join(d, files(d).at(-1) as string), "utf8");
    // The reference: each record serialised whole and framed (crc32 of its JSON text).
    const reference = [
      frame({ a: 0, q: 0 }),
      frame({ j: 1, m: plain.msgId, e: plain.event }),
      frame({ j: 2, m: keyed.msgId, e: keyed.event, p: keyed.positionKey }),
      frame({ j: 3, m: odd.msgId, e: odd.event, p: odd.positionKey }),
    ].join("");
    expect(text(a)).toBe(reference);
    expect(text(b)).toBe(reference);
    expect(text(c)).toBe(reference);
    expect(
      text(a)
        .split("\n")
        .filter((l) => l.length > 0)
        .map(unframe),
    ).toEqual([
      { a: 0, q: 0 },
      { j: 1, m: plain.msgId, e: plain.event },
      { j: 2, m: keyed.msgId, e: keyed.event, p: keyed.positionKey },
      { j: 3, m: odd.msgId, e: odd.event, p: odd.positionKey },
    ]);
    bytes.close();
    whole.close();
    spliced.close();
  });

  it("hands out each event's bytes as views that later appends leave alone", () => {
    const journal = Journal.open({ dir: dir() }, logger).journal;
    const first = [entry(1), entry(2, 50)];
    const views: Uint8Array[] = [];
    journal.append(first, views);
    const text = () => views.map((v) => Buffer.from(v).toString("utf8"));
    expect(text()).toEqual(first.map((e) => JSON.stringify(e.event)));
    // Past several slabs' worth (256 KiB each) of later groups, of every size.
    for (let i = 0; i < 600; i++) journal.append([entry(10 + i, (i * 997) % 5_000), entry(1_000 + i)]);
    journal.append([entry(5_000, 300_000)]);
    expect(text()).toEqual(first.map((e) => JSON.stringify(e.event)));
    journal.close();
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
