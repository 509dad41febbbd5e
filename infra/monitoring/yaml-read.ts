/**
 * Reads the block YAML that infra/compose/yaml.ts writes (maps, lists, JSON-quoted strings, numbers,
 * booleans, flow lists of scalars, `{}` / `[]`): enough to parse the generated monitoring files back
 * in tests without a YAML dependency. Not a general YAML parser.
 */

type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

interface Line {
  indent: number;
  text: string;
}

const KEY = /^("(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_.-]*):(?: (.*))?$/;

function scalar(text: string): Value {
  const t = text.trim();
  if (t === "{}") return {};
  if (t.startsWith("[") || t.startsWith('"')) return JSON.parse(t) as Value;
  if (t === "true" || t === "false") return t === "true";
  if (t === "null" || t === "~") return null;
  const n = Number(t);
  return Number.isNaN(n) ? t : n;
}

export function readYaml(text: string): Value {
  const lines: Line[] = text
    .split("\n")
    .filter((l) => l.trim().length > 0 && !l.trimStart().startsWith("#"))
    .map((l) => ({ indent: l.length - l.trimStart().length, text: l.trim() }));
  let i = 0;
  const block = (indent: number): Value => {
    const first = lines[i];
    if (first === undefined) return null;
    if (first.text.startsWith("- ") || first.text === "-") {
      const list: Value[] = [];
      while (
        i < lines.length &&
        (lines[i] as Line).indent === indent &&
        (lines[i] as Line).text.startsWith("-")
      ) {
        const line = lines[i] as Line;
        const rest = line.text.slice(1).trimStart();
        if (KEY.test(rest)) {
          // `- key: value` opens a map whose other keys sit two columns right of the dash.
          lines[i] = { indent: indent + 2, text: rest };
          list.push(block(indent + 2));
        } else {
          i++;
          list.push(scalar(rest));
        }
      }
      return list;
    }
    const map: { [key: string]: Value } = {};
    while (i < lines.length && (lines[i] as Line).indent === indent) {
      const line = lines[i] as Line;
      const m = KEY.exec(line.text);
      if (m === null) throw new Error(`line ${i + 1}: not a key: ${line.text}`);
      const key = (m[1] as string).startsWith('"')
        ? (JSON.parse(m[1] as string) as string)
        : (m[1] as string);
      i++;
      if (m[2] !== undefined && m[2].length > 0) map[key] = scalar(m[2]);
      else
        map[key] =
          i < lines.length && (lines[i] as Line).indent > indent ? block((lines[i] as Line).indent) : null;
    }
    return map;
  };
  return block(lines[0]?.indent ?? 0);
}
