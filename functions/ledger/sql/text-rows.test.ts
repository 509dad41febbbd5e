import { describe, expect, it } from "vitest";
import { CopyTextReader, TextRowError } from "./text-rows.ts";

/** Every row of `text` as [text-or-null, number-or-null, text] (three columns). */
function rows(text: string): [string | null, number | null, string][] {
  const r = new CopyTextReader(text);
  const out: [string | null, number | null, string][] = [];
  while (r.row()) out.push([r.textOrNull(), r.numOrNull(), r.text("c", true)]);
  return out;
}

describe("CopyTextReader", () => {
  it("reads fields by tabs and rows by newlines, unescapes COPY's escapes and reads \\N as null", () => {
    expect(rows("a\t1\t\\\\N\nb\\tc\t\\N\t2\\\\x\n\\N\t0.30000000000000004\t\n")).toEqual([
      ["a", 1, "\\N"], // the text \N (COPY doubles its backslash), not NULL
      ["b\tc", null, "2\\x"],
      [null, 0.30000000000000004, ""],
    ]);
    expect(rows("x\\ny\\r\t-1.5e-7\tNaN\n")).toEqual([["x\ny\r", -1.5e-7, "NaN"]]);
    expect(rows("")).toEqual([]);
  });

  it("reads PostgreSQL's special numbers and bigints as JavaScript numbers", () => {
    const r = new CopyTextReader("Infinity\t-Infinity\tNaN\t1700000000123\n");
    expect(r.row()).toBe(true);
    expect([r.num("a"), r.num("b"), r.num("c"), r.num("d", true)]).toEqual([
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
      1_700_000_000_123,
    ]);
    expect(r.row()).toBe(false);
  });

  it("reads decimals of up to 15 digits by their digits exactly as Number reads them, and hands longer ones to Number", () => {
    const fields = [
      "0",
      "-0",
      "7",
      "-42",
      "999999999999999",
      "9007199254740993",
      "12345678901234567890",
      "1e3",
      "-1.25",
      "0.1",
      "0.001",
      "40123.456",
      "-2.9999999999999",
      "123456789012.345",
      "0.30000000000000004",
      "1234567890123.456",
      "3.0969",
      "1.",
      ".5",
    ];
    const r = new CopyTextReader(`${fields.join("\t")}\n`);
    r.row();
    const got = fields.map((_, i) => r.num(`c${i}`, i === fields.length - 1));
    expect(got).toEqual(fields.map(Number));
    expect(Object.is(got[1], -0)).toBe(true);
    expect(() => rows("a\t-\tb\n")).toThrow(/not a number/);
  });

  it("rejects a row with fewer or more fields, a missing newline, NULL where NOT NULL, a non-number", () => {
    expect(() => rows("a\tb\n")).toThrow(/fewer/);
    expect(() => rows("a\t1\tb\tc\n")).toThrow(/more/);
    expect(() => rows("a\t1\tb")).toThrow(TextRowError);
    expect(() => rows("a\t1\t\\N\n")).toThrow(/column c \(NOT NULL\)/);
    expect(() => rows("a\tone\tb\n")).toThrow(/not a number/);
    expect(() => rows("a\t\tb\n")).toThrow(/not a number/);
    const r = new CopyTextReader("\\N\n");
    r.row();
    expect(() => r.num("n", true)).toThrow(/column n \(NOT NULL\)/);
  });
});
