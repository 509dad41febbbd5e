import { IncomingMessage } from "node:http";
import type { Context } from "hono";

/**
 * One request header, the same value `c.req.header(name)` answers, read straight from node's raw
 * header list when the request came through @hono/node-server (`c.env.incoming`). Hono's own read goes
 * through the adapter's Fetch `Headers` view: a name check, a lower-casing, a copy of the raw list and a
 * scan with a string per compared name, about 0.2 µs a header; this is a scan of the raw list alone.
 *
 * Same answer by construction: node's HTTP/1 parser has already refused control characters and trimmed
 * the value's surrounding whitespace (what the Fetch view would otherwise normalise), and a name that
 * occurs more than once is left to `c.req.header`, which joins the repeats the Fetch way (`a, b`), where
 * node's own `headers` object would keep only the first of a Host, Authorization or Content-Type.
 * Any other request (Hono's `app.request`, another runtime, HTTP/2) reads `c.req.header` as before.
 *
 * `name` must be lower case.
 */
export function headerOf(c: Context, name: string): string | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (incoming instanceof IncomingMessage) {
    const value = onlyValue(incoming.rawHeaders, name);
    if (value !== REPEATED) return value;
  }
  return c.req.header(name);
}

const REPEATED = Symbol("repeated");

/** The value of the one field named `name` (lower case) in a raw `[name, value, …]` list; REPEATED if several. */
function onlyValue(raw: readonly string[], name: string): string | undefined | typeof REPEATED {
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const field = raw[i] as string;
    if (field.length !== name.length || (field !== name && field.toLowerCase() !== name)) continue;
    if (value !== undefined) return REPEATED;
    value = raw[i + 1] as string;
  }
  return value;
}
