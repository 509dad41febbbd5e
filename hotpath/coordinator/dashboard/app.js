// The Bot4 dashboard: preact + htm as plain ES modules (no build step), pages by URL hash.

import { auth, catalog, HttpError } from "./lib/api.js";
import { liveStatus, startLive } from "./lib/live.js";
import { html } from "./lib/ui.js";
import { Backtests } from "./pages/backtests.js";
import { Compliance } from "./pages/compliance.js";
import { Infra } from "./pages/infra.js";
import { Overview } from "./pages/overview.js";
import { Risk } from "./pages/risk.js";
import { Strategies } from "./pages/strategies.js";
import { Trading } from "./pages/trading.js";
import { render } from "./vendor/htm-preact.mjs";
import { useEffect, useState } from "./vendor/preact-hooks.mjs";

const PAGES = [
  { path: "overview", title: "Overview", component: Overview },
  { path: "strategies", title: "Strategies", component: Strategies },
  { path: "trading", title: "Trading", component: Trading },
  { path: "risk", title: "Risk", component: Risk },
  { path: "compliance", title: "Compliance", component: Compliance },
  { path: "backtests", title: "Backtests", component: Backtests },
  { path: "infra", title: "Infra & code quality", component: Infra },
];

const current = () => location.hash.replace(/^#\/?/, "") || "overview";

function useHash() {
  const [page, setPage] = useState(current());
  useEffect(() => {
    const on = () => setPage(current());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return page;
}

function LiveDot() {
  const [status, setStatus] = useState(liveStatus.value);
  // The effect runs after the first paint: a change in between (the stream's hello) would be missed
  // without reading the value again once subscribed.
  useEffect(() => {
    const unsubscribe = liveStatus.subscribe(setStatus);
    setStatus(liveStatus.value);
    return unsubscribe;
  }, []);
  return html`<span id="live-status" data-status=${status}><span class=${`dot ${status}`}></span>${status}</span>`;
}

function Login({ onDone, failed }) {
  const [key, setKey] = useState("");
  return html`<form class="login" id="login" onSubmit=${(e) => {
    e.preventDefault();
    auth.key = key.trim();
    onDone();
  }}>
    <h1>Bot4</h1>
    <p class="muted">This coordinator requires an API key (one of <code>BOT4_API_KEYS</code>).</p>
    ${failed ? html`<p class="error">That key was refused.</p>` : null}
    <label>API key <input type="password" name="key" autocomplete="current-password" value=${key}
      onInput=${(e) => setKey(e.currentTarget.value)} /></label>
    <p><button type="submit">Sign in</button></p>
  </form>`;
}

function App() {
  const page = useHash();
  const [session, setSession] = useState({ state: "checking" });
  const connect = async () => {
    try {
      const info = await (await fetch("/ui/session")).json();
      if (info.auth && !auth.key) return setSession({ state: "login" });
      await catalog.refresh();
      startLive();
      setSession({ state: "in", auth: info.auth });
    } catch (err) {
      if (err instanceof HttpError && err.status === 401) {
        auth.key = "";
        setSession({ state: "login", failed: true });
      } else setSession({ state: "down", message: String(err.message ?? err) });
    }
  };
  useEffect(() => {
    void connect();
  }, []);
  useEffect(() => {
    if (session.state !== "in") return undefined;
    const t = setInterval(() => catalog.refresh().catch(() => undefined), 10_000);
    return () => clearInterval(t);
  }, [session.state]);

  if (session.state === "checking") return html`<p class="muted boot">connecting…</p>`;
  if (session.state === "login") return html`<${Login} failed=${session.failed} onDone=${connect} />`;
  if (session.state === "down")
    return html`<p class="error boot">The coordinator did not answer: ${session.message}</p>`;
  const active = PAGES.find((p) => p.path === page) ?? PAGES[0];
  const Page = active.component;
  return html`<div class="shell">
    <nav>
      <div class="brand">Bot4</div>
      ${PAGES.map(
        (p) =>
          html`<a href=${`#/${p.path}`} class=${p === active ? "active" : ""} data-page=${p.path}>${p.title}</a>`,
      )}
      <div class="foot">
        <${LiveDot} /><br />
        paper trading${
          session.auth
            ? html`<br /><a href="#" onClick=${(e) => {
                e.preventDefault();
                auth.key = "";
                location.reload();
              }}>sign out</a>`
            : null
        }
      </div>
    </nav>
    <main id="page" data-page=${active.path}>
      <h1>${active.title}</h1>
      <${Page} />
    </main>
  </div>`;
}

render(html`<${App} />`, document.getElementById("app"));
