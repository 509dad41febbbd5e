import {
  closeSync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { EventEnvelope } from "../../core/protocol/envelope.ts";
import type { Logger } from "../../core/telemetry/log.ts";

/**
 * The exchange's local append-only journal of trade events (issue 12.1): an order is acknowledged
 * once its events are appended here, and they go on to JetStream afterwards; what JetStream may not
 * hold is replayed into it at the next start (journal-replay.ts) before anything else.
 *
 * Files: segments `<dir>/<segment number, 16 digits>.jnl`, the newest one open for appending. A
 * line is `<crc32 of the JSON, 8 hex> <JSON>\n`, one of
 *   a group   {"j": journal seq of its first event, "o": source, "t": time, "c": correlation id,
 *              "g": [{"m": Nats-Msg-Id, "y": type, "s": subject, "d": data, "p"?: positions KV key,
 *                     "t"?, "c"?, "x"?: causation id, "i"?: event id when not the message id}, …]}
 *             — the events of one `append` (an order's, written in one write before its answer), the
 *             k-th with journal seq j + k; each event's envelope is what `makeEvent` builds of these
 *             fields ("t"/"c" of the group unless the event has its own), so
 *             the line holds each event's data once and none of the envelope's constant parts
 *   an entry  {"j": journal seq, "m": Nats-Msg-Id, "e": the event envelope, "p"?: positions KV key}
 *             (the line per event journals written before groups hold; still read)
 *   a mark    {"a": journal seq acked by JetStream, "q": the EVENTS sequence of that ack}
 * Every segment starts with a mark, so the last mark read tells which entries JetStream acked.
 * A line whose checksum or JSON does not hold (a write torn by kill -9) ends what is read of its
 * segment; the file is cut back to its last whole line. Such a record was never acknowledged: an
 * order is answered only after `append` returned (a group is one line, so it is read whole or not at
 * all).
 *
 * Compaction: once JetStream acked every entry of a closed segment the segment is deleted; once it
 * acked everything and the open segment passed `compactBytes`, a fresh segment replaces it. So the
 * journal holds the unacked tail plus at most one small segment. `bytes` is the size on disk, which
 * the publisher bounds (`maxBytes`): past it the exchange refuses orders.
 *
 * Durability: `append` is one write(2) of the group (survives kill -9 of the process: the page cache
 * is the kernel's); with `fsync: "always"` it is followed by fdatasync(2) (survives a power loss).
 */
export interface JournalEntry {
  j: number;
  msgId: string;
  event: EventEnvelope;
  positionKey?: string;
}

/**
 * An entry to append: `data`, when given, is `JSON.stringify(event.data)` already made (it goes into
 * the line as it is, not serialised again). The event is an envelope as `makeEvent` builds it.
 */
export type NewJournalEntry = Omit<JournalEntry, "j"> & { data?: string };

export interface AckMark {
  /** Journal seq of the last entry JetStream acked (0: none). */
  j: number;
  /** The EVENTS sequence of that ack (0: unknown, before any). */
  seq: number;
}

export interface JournalOptions {
  dir: string;
  fsync?: "always" | "off";
  /** The open segment is replaced once everything is acked and it holds more (default 64 KiB). */
  compactBytes?: number;
  /** A segment is closed and a new one started past this size (default 4 MiB). */
  segmentBytes?: number;
  /** Bound of the journal on disk (default 64 MiB): past it `full` is true. */
  maxBytes?: number;
}

/** What the segments on disk held when the journal was opened. */
export interface JournalContents {
  /** Every entry read, in journal order. */
  entries: JournalEntry[];
  /** The last ack mark read. */
  mark: AckMark;
  /** Lines dropped because their checksum or JSON did not hold (torn writes). */
  torn: number;
}

interface Segment {
  name: string;
  /** Highest journal seq of an entry in it (0 when none). */
  last: number;
  bytes: number;
}

const SUFFIX = ".jnl";
/** Bytes of the buffer a group's line is encoded into, at least. */
const SLAB = 64 * 1024;
const segmentName = (n: number) => `${String(n).padStart(16, "0")}${SUFFIX}`;

const crcHex = (crc: number) => crc.toString(16).padStart(8, "0");
const HEX = Buffer.from("0123456789abcdef", "latin1");

export function frame(record: unknown): string {
  return framed(JSON.stringify(record));
}

const framed = (json: string) => `${crcHex(crc32(json))} ${json}\n`;

const q = JSON.stringify;

/** One event of a group line: its own fields, "t"/"c" only where they differ from the group's. */
function groupEvent(e: NewJournalEntry, first: EventEnvelope): string {
  const ev = e.event;
  let s = `{"m":${q(e.msgId)},"y":${q(ev.type)},"s":${q(ev.subject)}`;
  if (ev.id !== e.msgId) s += `,"i":${q(ev.id)}`;
  if (ev.time !== first.time) s += `,"t":${q(ev.time)}`;
  if (ev.correlationid !== first.correlationid) s += `,"c":${q(ev.correlationid)}`;
  if (ev.causationid !== undefined) s += `,"x":${q(ev.causationid)}`;
  if (e.positionKey !== undefined) s += `,"p":${q(e.positionKey)}`;
  return `${s},"d":${e.data ?? q(ev.data) ?? "null"}}`;
}

/** The JSON of a group line: the entries' events, the first with journal seq `j`. */
function groupJson(j: number, entries: readonly NewJournalEntry[]): string {
  const first = (entries[0] as NewJournalEntry).event;
  let s = `{"j":${j},"o":${q(first.source)},"t":${q(first.time)},"c":${q(first.correlationid)},"g":[`;
  for (let i = 0; i < entries.length; i++)
    s += (i > 0 ? "," : "") + groupEvent(entries[i] as NewJournalEntry, first);
  return `${s}]}`;
}

/** The record a line holds, or undefined when the line is torn or corrupt. */
export function unframe(line: string): unknown {
  if (line.length < 10 || line[8] !== " ") return undefined;
  const json = line.slice(9);
  if (crcHex(crc32(json)) !== line.slice(0, 8)) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

type Line = { kind: "entries"; entries: JournalEntry[] } | { kind: "mark"; mark: AckMark };

const isString = (v: unknown): v is string => typeof v === "string";

/** The envelope of one event of a group, as `makeEvent` built it; undefined when a field is missing. */
function eventOfGroup(g: Record<string, unknown>, e: unknown): EventEnvelope | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const r = e as Record<string, unknown>;
  const time = r.t ?? g.t;
  const correlationid = r.c ?? g.c;
  if (!isString(r.m) || !isString(r.y) || !isString(r.s) || !("d" in r)) return undefined;
  if (!isString(g.o) || !isString(time) || !isString(correlationid)) return undefined;
  const event: EventEnvelope = {
    specversion: "1.0",
    id: isString(r.i) ? r.i : r.m,
    type: r.y,
    source: g.o,
    time,
    subject: r.s,
    correlationid,
    datacontenttype: "application/json",
    data: r.d,
  };
  if (isString(r.x)) event.causationid = r.x;
  return event;
}

function groupOf(r: Record<string, unknown>, j: number, g: unknown[]): Line | undefined {
  const entries: JournalEntry[] = [];
  for (const [k, e] of g.entries()) {
    const event = eventOfGroup(r, e);
    if (event === undefined) return undefined;
    const entry: JournalEntry = { j: j + k, msgId: (e as Record<string, unknown>).m as string, event };
    const p = (e as Record<string, unknown>).p;
    if (isString(p)) entry.positionKey = p;
    entries.push(entry);
  }
  return { kind: "entries", entries };
}

function lineOf(record: unknown): Line | undefined {
  if (typeof record !== "object" || record === null) return undefined;
  const r = record as Record<string, unknown>;
  if (typeof r.a === "number" && typeof r.q === "number") return { kind: "mark", mark: { j: r.a, seq: r.q } };
  if (typeof r.j !== "number") return undefined;
  if (Array.isArray(r.g)) return groupOf(r, r.j, r.g);
  if (typeof r.m !== "string" || typeof r.e !== "object" || r.e === null) return undefined;
  const entry: JournalEntry = { j: r.j, msgId: r.m, event: r.e as EventEnvelope };
  if (typeof r.p === "string") entry.positionKey = r.p;
  return { kind: "entries", entries: [entry] };
}

/** Reads one segment: its lines up to the first that does not hold, and the byte length they fill. */
function readSegment(path: string): { lines: Line[]; good: number; size: number; torn: number } {
  const buf = readFileSync(path);
  const lines: Line[] = [];
  let offset = 0;
  let torn = 0;
  while (offset < buf.length) {
    const nl = buf.indexOf(10, offset);
    const line = nl < 0 ? undefined : lineOf(unframe(buf.toString("utf8", offset, nl)));
    if (line === undefined) {
      torn = 1;
      break;
    }
    lines.push(line);
    offset = nl + 1;
  }
  return { lines, good: offset, size: buf.length, torn };
}

export class Journal {
  private fd: number;
  private readonly segments: Segment[] = [];
  private lastJ: number;
  private ackedMark: AckMark;
  private readonly fsync: boolean;
  private readonly compactBytes: number;
  private readonly segmentBytes: number;
  private readonly maxBytes: number;
  private segmentNo: number;
  /** The buffer a group's line is encoded into before its write (reused: nothing keeps a view of it). */
  private buf = Buffer.alloc(0);

  private constructor(
    private readonly o: JournalOptions,
    private readonly logger: Logger,
    contents: JournalContents,
    segments: Segment[],
  ) {
    this.fsync = o.fsync === "always";
    this.maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
    // Within the bound, so that what JetStream acked can always be compacted below it.
    this.compactBytes = Math.min(o.compactBytes ?? 64 * 1024, this.maxBytes / 4);
    this.segmentBytes = Math.min(o.segmentBytes ?? 4 * 1024 * 1024, this.maxBytes / 4);
    this.segments.push(...segments);
    this.lastJ = Math.max(contents.entries.at(-1)?.j ?? 0, contents.mark.j);
    this.ackedMark = contents.mark;
    this.segmentNo = segments.reduce((n, s) => Math.max(n, Number.parseInt(s.name, 10) || 0), 0);
    this.fd = -1;
    this.fd = this.openSegment();
    this.deleteAcked();
  }

  /**
   * Opens the journal in `dir` (created when missing): reads every segment, cuts a torn tail back to
   * its last whole line, and starts appending to a new segment. `contents` is what was read.
   */
  static open(o: JournalOptions, logger: Logger): { journal: Journal; contents: JournalContents } {
    mkdirSync(o.dir, { recursive: true });
    const names = readdirSync(o.dir)
      .filter((n) => n.endsWith(SUFFIX))
      .sort();
    const contents: JournalContents = { entries: [], mark: { j: 0, seq: 0 }, torn: 0 };
    const segments: Segment[] = [];
    for (const name of names) {
      const path = join(o.dir, name);
      const read = readSegment(path);
      if (read.torn > 0) {
        contents.torn += 1;
        logger.warn(
          { segment: name, at: read.good, size: read.size },
          "journal: torn record dropped (written when the process died; never acknowledged)",
        );
        const fd = openSync(path, "r+");
        ftruncateSync(fd, read.good);
        closeSync(fd);
      }
      let last = 0;
      for (const line of read.lines) {
        if (line.kind === "mark") {
          if (line.mark.j >= contents.mark.j) contents.mark = line.mark;
        } else {
          contents.entries.push(...line.entries);
          last = (line.entries.at(-1) as JournalEntry | undefined)?.j ?? last;
        }
      }
      segments.push({ name, last, bytes: read.good });
    }
    contents.entries.sort((a, b) => a.j - b.j);
    return { journal: new Journal(o, logger, contents, segments), contents };
  }

  /** Journal seq the next appended entry gets. */
  get next(): number {
    return this.lastJ + 1;
  }

  /** Size of the journal on disk, in bytes. */
  get bytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.bytes;
    return total;
  }

  /** True once the journal passed its bound: the publisher refuses new orders then. */
  get full(): boolean {
    return this.bytes > this.maxBytes;
  }

  /** The last ack mark recorded. */
  get mark(): AckMark {
    return this.ackedMark;
  }

  /**
   * Appends the entries (journal seqs `next`, `next + 1`, … in order) as one group line in one write,
   * then fdatasync when configured. Throws when the write fails (the caller then waits for JetStream
   * instead).
   */
  append(entries: readonly NewJournalEntry[]): number {
    if (entries.length === 0) return this.lastJ;
    const json = groupJson(this.lastJ + 1, entries);
    // The line's bytes once: the JSON encoded into a reused buffer, its crc32 over them in front.
    const room = 3 * json.length + 10;
    if (this.buf.length < room) this.buf = Buffer.allocUnsafeSlow(Math.max(SLAB, room));
    const buf = this.buf;
    const end = 9 + buf.write(json, 9, "utf8");
    let crc = crc32(buf.subarray(9, end));
    // `crcHex(crc)` and a space, written as bytes.
    for (let i = 7; i >= 0; i--) {
      buf[i] = HEX[crc & 15] as number;
      crc >>>= 4;
    }
    buf[8] = 32;
    buf[end] = 10;
    this.writeBuffer(buf.subarray(0, end + 1));
    this.lastJ += entries.length;
    const open = this.segments.at(-1) as Segment;
    open.last = this.lastJ;
    if (open.bytes >= this.segmentBytes) this.rotate();
    return this.lastJ;
  }

  /**
   * JetStream acked every entry up to `j` (its EVENTS sequence `seq`): records a mark and compacts.
   * Never throws (a mark not written only makes the next start check more entries).
   */
  acked(j: number, seq: number): void {
    if (j <= this.ackedMark.j) return;
    this.ackedMark = { j, seq };
    try {
      const open = this.segments.at(-1) as Segment;
      if (j >= this.lastJ && open.bytes >= this.compactBytes) this.rotate();
      else this.write(frame({ a: j, q: seq }));
      this.deleteAcked();
    } catch (err) {
      this.logger.warn({ err, j }, "journal: ack mark not written");
    }
  }

  /**
   * Everything journaled is in JetStream, whose last sequence is `seq` (after the start-up replay):
   * marks it all acked and starts a fresh segment, so the next start checks nothing before `seq`.
   */
  settle(seq: number): void {
    this.ackedMark = { j: this.lastJ, seq };
    this.rotate();
  }

  /**
   * Closes the file. When JetStream acked every entry, the segments are removed: a clean stop leaves
   * nothing to replay.
   */
  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    if (this.ackedMark.j < this.lastJ) {
      this.logger.warn(
        { unacked: this.lastJ - this.ackedMark.j, dir: this.o.dir },
        "journal: trade events not yet in JetStream are kept for the next start",
      );
      return;
    }
    for (const s of this.segments.splice(0)) rmSync(join(this.o.dir, s.name), { force: true });
  }

  /** True when every entry appended is acked by JetStream. */
  get settled(): boolean {
    return this.ackedMark.j >= this.lastJ;
  }

  private write(text: string): void {
    this.writeBuffer(Buffer.from(text, "utf8"));
  }

  private writeBuffer(buf: Buffer): void {
    const open = this.segments.at(-1) as Segment;
    let done = 0;
    while (done < buf.length) done += writeSync(this.fd, buf, done, buf.length - done);
    if (this.fsync) fdatasyncSync(this.fd);
    open.bytes += buf.length;
  }

  /** Starts the next segment, beginning with the current mark. */
  private openSegment(): number {
    this.segmentNo += 1;
    const name = segmentName(this.segmentNo);
    const fd = openSync(join(this.o.dir, name), "a");
    this.segments.push({ name, last: 0, bytes: 0 });
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = fd;
    this.write(frame({ a: this.ackedMark.j, q: this.ackedMark.seq }));
    return fd;
  }

  private rotate(): void {
    this.openSegment();
    this.deleteAcked();
  }

  /** Deletes the closed segments whose every entry JetStream acked. */
  private deleteAcked(): void {
    while (this.segments.length > 1) {
      const first = this.segments[0] as Segment;
      if (first.last > this.ackedMark.j) return;
      rmSync(join(this.o.dir, first.name), { force: true });
      this.segments.shift();
    }
  }
}
