/** A YAML value as the compose renderer builds it: plain data, no anchors, no multi-line strings. */
export type Yaml = string | number | boolean | readonly Yaml[] | { readonly [key: string]: Yaml };

const scalar = (v: string | number | boolean) => (typeof v === "string" ? JSON.stringify(v) : String(v));
const isScalar = (v: Yaml): v is string | number | boolean => typeof v !== "object";
const key = (k: string) => (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k) ? k : JSON.stringify(k));

/**
 * Emits block-style YAML. Strings are double-quoted JSON strings, which YAML reads verbatim (and
 * compose still interpolates `${VAR}` inside them).
 */
export function toYaml(value: Yaml, indent = 0): string {
  const pad = " ".repeat(indent);
  if (isScalar(value)) return `${pad}${scalar(value)}\n`;
  if (Array.isArray(value)) {
    if (value.length === 0) return `${pad}[]\n`;
    if (value.every(isScalar)) return `${pad}[${value.map((v) => scalar(v as string)).join(", ")}]\n`;
    return value
      .map((item) => {
        const body = toYaml(item, indent + 2);
        return `${pad}- ${body.slice(indent + 2)}`;
      })
      .join("");
  }
  const entries = Object.entries(value as { readonly [key: string]: Yaml });
  if (entries.length === 0) return `${pad}{}\n`;
  return entries
    .map(([k, v]) => {
      if (isScalar(v)) return `${pad}${key(k)}: ${scalar(v)}\n`;
      if (Array.isArray(v) && (v.length === 0 || v.every(isScalar)))
        return `${pad}${key(k)}: ${toYaml(v).trim()}\n`;
      if (!Array.isArray(v) && Object.keys(v).length === 0) return `${pad}${key(k)}: {}\n`;
      return `${pad}${key(k)}:\n${toYaml(v, indent + 2)}`;
    })
    .join("");
}
