// The dashboard's only way to the system: the coordinator's API, with the key the user typed in.
// Tool calls go through POST /rpc (JSON-RPC `tool.execute`, batched); GET /tools tells which agents and
// tools exist, so a page never calls a tool that is not there (it says so instead).

const KEY = "bot4.key";

export const auth = {
  get key() {
    return sessionStorage.getItem(KEY) ?? "";
  },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};

export function headers(extra = {}) {
  const h = { ...extra };
  if (auth.key) h.authorization = `Bearer ${auth.key}`;
  return h;
}

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function getJson(path) {
  const res = await fetch(path, { headers: headers() });
  if (!res.ok) throw new HttpError(res.status, `${path}: HTTP ${res.status}`);
  return res.json();
}

/** JSON-RPC codes that mean "this agent or tool is not there (yet)". */
export const MISSING = new Set([-32601, -32002]);

let nextId = 1;
let queue = [];
let scheduled = false;

/**
 * One tool call: resolves to {ok:true, result} or {ok:false, error:{code,message,data}, missing}.
 * Calls made in the same tick travel as one JSON-RPC batch.
 */
export function call(agent, tool, args = {}) {
  return new Promise((resolve) => {
    queue.push({ id: nextId++, agent, tool, args, resolve });
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
  });
}

async function flush() {
  scheduled = false;
  const batch = queue;
  queue = [];
  const body = batch.map((c) => ({
    jsonrpc: "2.0",
    id: c.id,
    method: "tool.execute",
    params: { agent: c.agent, tool: c.tool, args: adaptArgs(c.args, catalog.inputSchema(c.agent, c.tool)) },
  }));
  let answers;
  try {
    const res = await fetch("/rpc", {
      method: "POST",
      headers: headers({ "content-type": "application/json" }),
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new HttpError(res.status, `HTTP ${res.status}`);
    answers = await res.json();
  } catch (err) {
    for (const c of batch) c.resolve({ ok: false, error: { code: 0, message: String(err.message ?? err) } });
    return;
  }
  const byId = new Map((Array.isArray(answers) ? answers : [answers]).map((a) => [a.id, a]));
  for (const c of batch) {
    const a = byId.get(c.id);
    if (a === undefined) c.resolve({ ok: false, error: { code: 0, message: "no answer" } });
    else if (a.error) c.resolve({ ok: false, error: a.error, missing: MISSING.has(a.error.code) });
    else c.resolve({ ok: true, result: a.result });
  }
}

// ---------------------------------------------------------------------------------------------------
// The catalog: GET /tools, refreshed while the page is open.

const state = { agents: new Map(), loaded: false, listeners: new Set() };

export const catalog = {
  get loaded() {
    return state.loaded;
  },
  agent(name) {
    return state.agents.get(name);
  },
  has(agent, tool) {
    const a = state.agents.get(agent);
    return a?.available === true && a.tools.some((t) => t.name === tool);
  },
  /** "agent x is not running" / "tool y of agent x is not there yet", or undefined when it is there. */
  absence(agent, tool) {
    const a = state.agents.get(agent);
    if (a === undefined) return `the ${agent} agent is not in this system's manifest yet`;
    if (!a.available) return `the ${a.title} agent (${agent}) is not running yet`;
    if (tool !== undefined && !a.tools.some((t) => t.name === tool))
      return `${agent}.${tool} is not there yet`;
    return undefined;
  },
  inputSchema(agent, tool) {
    return state.agents.get(agent)?.tools.find((t) => t.name === tool)?.inputSchema;
  },
  subscribe(fn) {
    state.listeners.add(fn);
    return () => state.listeners.delete(fn);
  },
  async refresh() {
    const listing = await getJson("/tools");
    state.agents = new Map(listing.agents.map((a) => [a.agent, a]));
    state.loaded = true;
    for (const fn of state.listeners) fn();
  },
};

// ---------------------------------------------------------------------------------------------------
// Field names: the dashboard writes camelCase; each argument goes out under the spelling the tool's
// input schema has (camelCase or snake_case), and `pick` reads either spelling from results.

const snake = (k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (k) => k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

function propertiesOf(schema) {
  if (!schema || typeof schema !== "object") return undefined;
  if (schema.properties) return schema.properties;
  for (const branch of [...(schema.oneOf ?? []), ...(schema.anyOf ?? [])]) {
    const p = propertiesOf(branch);
    if (p) return p;
  }
  return undefined;
}

function branchFor(schema, value) {
  const branches = [...(schema?.oneOf ?? []), ...(schema?.anyOf ?? [])];
  if (branches.length === 0) return schema;
  const tag = value?.kind ?? value?.source;
  const hit = branches.find((b) => {
    const p = b.properties ?? {};
    return (p.kind?.const ?? p.source?.const) === tag;
  });
  return hit ?? branches.find((b) => b.type === "object") ?? schema;
}

export function adaptArgs(value, schema) {
  if (Array.isArray(value)) return value.map((v) => adaptArgs(v, schema?.items));
  if (value === null || typeof value !== "object" || schema === undefined) return value;
  const s = branchFor(schema, value);
  const props = propertiesOf(s) ?? {};
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    const name = k in props ? k : snake(k) in props ? snake(k) : camel(k) in props ? camel(k) : k;
    out[name] = adaptArgs(v, props[name]);
  }
  return out;
}

/** Reads `key` (camelCase) or its snake_case spelling. */
export function pick(o, key) {
  if (o === null || o === undefined) return undefined;
  return o[key] !== undefined ? o[key] : o[snake(key)];
}
