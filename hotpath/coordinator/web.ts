import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hono } from "hono";

/** The dashboard's own files (ES modules, CSS, HTML): served as they are, no build step. */
export const DASHBOARD_DIR = fileURLToPath(new URL("./dashboard/", import.meta.url));

/**
 * Third-party ES modules the dashboard imports, served from node_modules under `/ui/vendor/`. Bare
 * specifiers inside them are rewritten to those URLs, so the browser needs no import map (an inline
 * script a strict Content-Security-Policy would refuse).
 */
const VENDOR: Record<string, { file: string; rewrite?: Record<string, string> }> = {
  "preact.mjs": { file: "preact/dist/preact.mjs" },
  "preact-hooks.mjs": { file: "preact/hooks/dist/hooks.mjs", rewrite: { preact: "./preact.mjs" } },
  "htm.mjs": { file: "htm/dist/htm.mjs" },
  "htm-preact.mjs": {
    file: "htm/preact/index.mjs",
    rewrite: { preact: "./preact.mjs", htm: "./htm.mjs" },
  },
  "lightweight-charts.mjs": { file: "lightweight-charts/dist/lightweight-charts.standalone.production.mjs" },
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
};

interface Asset {
  body: Uint8Array;
  type: string;
  etag: string;
}

function asset(path: string, body: Uint8Array): Asset {
  const type = TYPES[extname(path)] ?? "application/octet-stream";
  return { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` };
}

/** The repository's node_modules (the packages' `exports` maps hide these deep paths from `require.resolve`). */
const NODE_MODULES = fileURLToPath(new URL("../../node_modules/", import.meta.url));

function vendorAsset(name: string): Asset {
  const spec = VENDOR[name] as { file: string; rewrite?: Record<string, string> };
  let text = readFileSync(join(NODE_MODULES, spec.file), "utf8");
  for (const [bare, url] of Object.entries(spec.rewrite ?? {})) {
    text = text.replaceAll(`from"${bare}"`, `from"${url}"`).replaceAll(`from "${bare}"`, `from "${url}"`);
  }
  return asset(name, new TextEncoder().encode(text));
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

/** Every dashboard asset by URL path, read once. */
export function loadAssets(dir = DASHBOARD_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const file of listFiles(dir)) {
    const url = `/ui/${relative(dir, file).split(sep).join("/")}`;
    assets.set(url, asset(file, readFileSync(file)));
  }
  for (const name of Object.keys(VENDOR)) assets.set(`/ui/vendor/${name}`, vendorAsset(name));
  const index = assets.get("/ui/index.html");
  if (index !== undefined) {
    // Every module is announced up front, so the browser fetches them in parallel instead of
    // discovering each level of imports after the previous one arrived.
    const modules = [...assets.keys()].filter((u) => /\.m?js$/.test(u)).sort();
    const links = modules.map((u) => `    <link rel="modulepreload" href="${u}" />`).join("\n");
    const html = new TextDecoder().decode(index.body).replace("</head>", `${links}\n  </head>`);
    const page = asset("/ui/index.html", new TextEncoder().encode(html));
    assets.set("/", page);
    assets.set("/ui/index.html", page);
  }
  return assets;
}

/**
 * Content-Security-Policy of the dashboard: its own scripts only, data only from this origin (the
 * API calls and the event stream). Styles set from script (charts) are allowed inline.
 */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Mounts the dashboard's static shell: `GET /`, `GET /ui/*` and `GET /ui/session` (`{auth}`: whether
 * the API wants a key). These files hold no data and are open
 * without a key (the page asks for one when the API needs it); everything they show comes from the
 * protected API (`POST /rpc`, `GET /tools`, `GET /status`, `GET /events`).
 */
export function mountDashboard(
  app: Hono,
  { auth, assets = loadAssets() }: { auth: boolean; assets?: Map<string, Asset> },
): void {
  const serve = (path: string, ifNoneMatch: string | undefined) => {
    const a = assets.get(path);
    if (a === undefined) return undefined;
    const headers = {
      "content-type": a.type,
      etag: a.etag,
      "cache-control": "no-cache",
      "content-security-policy": DASHBOARD_CSP,
    };
    if (ifNoneMatch === a.etag) return new Response(null, { status: 304, headers });
    return new Response(a.body, { headers });
  };
  // Whether the API wants a key, so the page shows the key login instead of failing calls.
  app.get("/ui/session", (c) => c.json({ auth }));
  app.get("/", (c) => serve("/", c.req.header("if-none-match")) ?? c.notFound());
  app.get("/ui/*", (c) => serve(c.req.path, c.req.header("if-none-match")) ?? c.notFound());
}
