import { describe, expect, it } from "vitest";
import { copyTextRows, recordTextRows, TextRowError } from "./text-rows.ts";

describe("copyTextRows", () => {
  it("splits lines and tabs, unescapes COPY's escapes and reads \\N as null", () => {
    expect(copyTextRows("a\t1\t\\N\nb\\tc\t2\\\\x\t\n", 3)).toEqual([
      ["a", "1", null],
      ["b\tc", "2\\x", ""],
    ]);
    expect(copyTextRows("", 3)).toEqual([]);
  });

  it("rejects a row with another field count", () => {
    expect(() => copyTextRows("a\tb\n", 3)).toThrow(TextRowError);
  });
});

describe("recordTextRows", () => {
  it("reads plain rows, NULL as an empty field", () => {
    expect(recordTextRows("(t1,BTC/USDT,,0.30000000000000004)\n(t2,x,1,)", 4)).toEqual([
      ["t1", "BTC/USDT", null, "0.30000000000000004"],
      ["t2", "x", "1", null],
    ]);
    expect(recordTextRows("", 4)).toEqual([]);
  });

  it('reads quoted fields: commas, parentheses, spaces, "" and \\\\, and the empty text', () => {
    expect(recordTextRows('("a,b",""," (x) ","q""uote","back\\\\slash",)', 6)).toEqual([
      ["a,b", "", " (x) ", 'q"uote', "back\\slash", null],
    ]);
  });

  it("keeps a newline inside a quoted field, and the rows around it apart", () => {
    expect(recordTextRows('(a,"line\nbreak")\n("""\n(",b)\n(c,d)', 2)).toEqual([
      ["a", "line\nbreak"],
      ['"\n(', "b"],
      ["c", "d"],
    ]);
  });

  it("rejects text that is not a row of the expected fields", () => {
    expect(() => recordTextRows("(a,b)", 3)).toThrow(TextRowError);
    expect(() => recordTextRows("a,b", 2)).toThrow(TextRowError);
    expect(() => recordTextRows('(a,"b)', 2)).toThrow(TextRowError);
  });
});
