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
 *   an entry  {"j": journal seq, "m": Nats-Msg-Id, "e": the event envelope, "p"?: positions KV key}
 *   a mark    {"a": journal seq acked by JetStream, "q": the EVENTS sequence of that ack}
 * Every segment starts with a mark, so the last mark read tells which entries JetStream acked.
 * A line whose checksum or JSON does not hold (a write torn by kill -9) ends what is read of its
 * segment; the file is cut back to its last whole line. Such a record was never acknowledged: an
 * order is answered only after `append` returned.
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
 * An entry to append: `bytes` (else `json`), when given, is `JSON.stringify(event)` already made — as
 * UTF-8 bytes, which go into the line as they are (not serialised or encoded again).
 */
export type NewJournalEntry = Omit<JournalEntry, "j"> & { json?: string; bytes?: Uint8Array };

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
/** Bytes of a slab the groups' lines are written into (see `space`). */
const SLAB = 256 * 1024;
const segmentName = (n: number) => `${String(n).padStart(16, "0")}${SUFFIX}`;

const crcHex = (crc: number) => crc.toString(16).padStart(8, "0");
const HEX = Buffer.from("0123456789abcdef", "latin1");

export function frame(record: unknown): string {
  return framed(JSON.stringify(record));
}

const framed = (json: string) => `${crcHex(crc32(json))} ${json}\n`;

/** The event's JSON of an entry: its bytes or its text, given, or serialised here. */
const bodyOf = (e: NewJournalEntry): Uint8Array | string => e.bytes ?? e.json ?? JSON.stringify(e.event);

/**
 * Bytes enough for a body: its length, or for text at most 3 UTF-8 bytes per UTF-16 unit (a bound, not
 * counted: the line is encoded into the room, and what it leaves goes back to the slab).
 */
const sizeOf = (body: Uint8Array | string) => (typeof body === "string" ? 3 * body.length : body.length);

/**
 * Writes an entry's line into `buf` at `at`: the record `{"j":…,"m":…,"e":<body>,"p"?:…}` around the
 * event's JSON (its bytes copied, or its text encoded straight into `buf`), then its crc32 (over the
 * bytes just written) in front — the line `framed(JSON.stringify(record))` makes, without the event
 * being serialised again. Returns where the line ends and where the event's bytes are in `buf`.
 * `buf` has the room {@link roomOf} counts.
 */
function writeEntry(
  buf: Buffer,
  at: number,
  j: number,
  e: NewJournalEntry,
  body: Uint8Array | string,
): { end: number; bodyAt: number; bodyEnd: number } {
  const start = at + 9;
  const bodyAt = start + buf.write(`{"j":${j},"m":${JSON.stringify(e.msgId)},"e":`, start, "utf8");
  let end = bodyAt;
  if (typeof body === "string") end += buf.write(body, bodyAt, "utf8");
  else {
    buf.set(body, bodyAt);
    end += body.length;
  }
  const bodyEnd = end;
  end += buf.write(e.positionKey !== undefined ? `,"p":${JSON.stringify(e.positionKey)}}` : "}", end, "utf8");
  let crc = crc32(buf.subarray(start, end));
  // `crcHex(crc)` and a space, written as bytes.
  for (let i = 7; i >= 0; i--) {
    buf[at + i] = HEX[crc & 15] as number;
    crc >>>= 4;
  }
  buf[at + 8] = 32;
  buf[end] = 10;
  return { end: end + 1, bodyAt, bodyEnd };
}

/**
 * Bytes enough for an entry's line: its body, its ids as JSON strings (at most 6 bytes per UTF-16 unit,
 * a `\u001f` escape; 3 for any other), and the frame and keys around them (under 64).
 */
const roomOf = (e: NewJournalEntry, bodySize: number) =>
  bodySize + 6 * (e.msgId.length + (e.positionKey?.length ?? 0)) + 64;

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

type Line = { kind: "entry"; entry: JournalEntry } | { kind: "mark"; mark: AckMark };

function lineOf(record: unknown): Line | undefined {
  if (typeof record !== "object" || record === null) return undefined;
  const r = record as Record<string, unknown>;
  if (typeof r.a === "number" && typeof r.q === "number") return { kind: "mark", mark: { j: r.a, seq: r.q } };
  if (typeof r.j !== "number" || typeof r.m !== "string" || typeof r.e !== "object" || r.e === null)
    return undefined;
  const entry: JournalEntry = { j: r.j, msgId: r.m, event: r.e as EventEnvelope };
  if (typeof r.p === "string") entry.positionKey = r.p;
  return { kind: "entry", entry };
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
  private slab = Buffer.alloc(0);
  private slabAt = 0;

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
          contents.entries.push(line.entry);
          last = line.entry.j;
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
   * Appends the entries (journal seqs `next`, `next + 1`, … in order) in one write, then fdatasync
   * when configured. Throws when the write fails (the caller then waits for JetStream instead).
   * `bodies`, when given, receives each entry's event JSON as UTF-8: a view of the bytes written (what
   * JetStream is then sent, not encoded again).
   */
  append(entries: readonly NewJournalEntry[], bodies?: Uint8Array[]): number {
    if (entries.length === 0) return this.lastJ;
    // One buffer for the group, each line written into it once, then one write.
    const json = entries.map(bodyOf);
    let room = 0;
    for (let i = 0; i < entries.length; i++)
      room += roomOf(entries[i] as NewJournalEntry, sizeOf(json[i] as Uint8Array | string));
    const out = this.space(room);
    let at = 0;
    let j = this.lastJ;
    for (let i = 0; i < entries.length; i++) {
      j += 1;
      const line = writeEntry(out, at, j, entries[i] as NewJournalEntry, json[i] as Uint8Array | string);
      bodies?.push(out.subarray(line.bodyAt, line.bodyEnd));
      at = line.end;
    }
    const buf = out.subarray(0, at);
    this.slabAt -= out.length - at; // the room not filled goes back to the slab
    this.writeBuffer(buf);
    this.lastJ = j;
    const open = this.segments.at(-1) as Segment;
    open.last = j;
    if (open.bytes >= this.segmentBytes) this.rotate();
    return j;
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

  /**
   * `size` bytes for a group's lines, carved from a slab of at least {@link SLAB} bytes: a group is
   * larger than Buffer's own pool takes, and the event bytes handed to JetStream are views of it, so
   * a slab is never written twice (a new one is taken when it runs out; the old one lives on while
   * views of it are queued).
   */
  private space(size: number): Buffer {
    if (this.slab.length - this.slabAt < size) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB, size));
      this.slabAt = 0;
    }
    const out = this.slab.subarray(this.slabAt, this.slabAt + size);
    this.slabAt += size;
    return out;
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
