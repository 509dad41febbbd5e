/**
 * A parser for the Prometheus text exposition format (0.0.4), the format every agent's `/metrics`
 * (prom-client) serves: `# HELP` / `# TYPE` comments and sample lines
 * `name{label="value",…} value [timestamp]`, label values with `\\`, `\"` and `\n` escapes, values
 * including `+Inf`, `-Inf` and `NaN`. Pure; malformed lines are skipped, never thrown on.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

function parseValue(text: string): number {
  if (text === "+Inf" || text === "Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  return Number(text);
}

/** Parses `{a="1",b="x\"y"}` starting at `at` (the `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, at: number): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  let i = at + 1;
  while (i < line.length) {
    while (line[i] === " " || line[i] === ",") i++;
    if (line[i] === "}") return { labels, end: i + 1 };
    const eq = line.indexOf("=", i);
    if (eq < 0 || line[eq + 1] !== '"') return undefined;
    const key = line.slice(i, eq).trim();
    let value = "";
    let j = eq + 2;
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] === "\\" && j + 1 < line.length) {
        j++;
        value += line[j] === "n" ? "\n" : (line[j] as string);
      } else value += line[j];
    }
    if (j >= line.length) return undefined;
    labels[key] = value;
    i = j + 1;
  }
  return undefined;
}

/** Every sample of an exposition. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith("#")) continue;
    const brace = line.indexOf("{");
    const space = line.indexOf(" ");
    let name: string;
    let labels: Record<string, string> = {};
    let rest: string;
    if (brace >= 0 && (space < 0 || brace < space)) {
      name = line.slice(0, brace);
      const parsed = parseLabels(line, brace);
      if (parsed === undefined) continue;
      labels = parsed.labels;
      rest = line.slice(parsed.end).trim();
    } else {
      if (space < 0) continue;
      name = line.slice(0, space);
      rest = line.slice(space + 1).trim();
    }
    const value = parseValue(rest.split(/\s+/)[0] ?? "");
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name) || (Number.isNaN(value) && rest.split(/\s+/)[0] !== "NaN"))
      continue;
    samples.push({ name, labels, value });
  }
  return samples;
}

/** Renders samples back to the text format (the recorded-metrics fixtures and the bench use it). */
export function renderPrometheusText(samples: readonly Sample[]): string {
  const esc = (v: string) => v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
  const num = (v: number) =>
    v === Number.POSITIVE_INFINITY ? "+Inf" : v === Number.NEGATIVE_INFINITY ? "-Inf" : String(v);
  return `${samples
    .map((s) => {
      const ls = Object.entries(s.labels).map(([k, v]) => `${k}="${esc(v)}"`);
      return `${s.name}${ls.length > 0 ? `{${ls.join(",")}}` : ""} ${num(s.value)}`;
    })
    .join("\n")}\n`;
}
