/**
 * The order of file paths in every report: `localeCompare`'s (ICU's root collation), computed here
 * for paths of ASCII letters, digits and punctuation without making ICU's collator, whose first use
 * costs ~6 ms of every short run. A path with any other character is compared by localeCompare
 * itself. The rules, as the root collation orders ASCII: character by character on the primary
 * weights (PRIMARY below: punctuation and symbols, then digits, then letters, upper and lower case
 * equal), a prefix first; on a tie the first case difference decides, lower case first. Checked
 * against localeCompare (en-US) on every pair of one- and two-character ASCII strings and on
 * millions of paths; under another default locale this keeps the root order for ASCII paths.
 */

/** ASCII punctuation and symbols in the root collation's order (after them digits, then letters). */
const SYMBOLS = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";

/** Primary weight of each ASCII code (0: not in the table, compare by localeCompare). */
const PRIMARY = new Uint8Array(128);
{
  let w = 1;
  for (const c of SYMBOLS) PRIMARY[c.charCodeAt(0)] = w++;
  for (let d = 48; d <= 57; d++) PRIMARY[d] = w++;
  for (let l = 97; l <= 122; l++) {
    PRIMARY[l] = w;
    PRIMARY[l - 32] = w++;
  }
}

/** The primary weight of the character at `i` of `s`, or 0 when it has none in the table. */
function primaryAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? (PRIMARY[c] as number) : 0;
}

/** Whether every character of `s` from `from` on is in the table. */
function inTable(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) if (primaryAt(s, i) === 0) return false;
  return true;
}

/** The case order of the characters at `i` (equal primary weights): 0 when the same, -1 when `a`'s is lower case. */
function caseAt(a: string, b: string, i: number): number {
  const x = a.charCodeAt(i);
  if (x === b.charCodeAt(i)) return 0;
  return x >= 65 && x <= 90 ? 1 : -1;
}

/** Negative, zero or positive as `a.localeCompare(b)`. */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let caseOrder = 0;
  for (let i = 0; i < n; i++) {
    const px = primaryAt(a, i);
    const py = primaryAt(b, i);
    if (px === 0 || py === 0) return a.localeCompare(b);
    if (px !== py) return px - py;
    if (caseOrder === 0) caseOrder = caseAt(a, b, i);
  }
  if (!inTable(a, n) || !inTable(b, n)) return a.localeCompare(b);
  return a.length === b.length ? caseOrder : a.length - b.length;
}
