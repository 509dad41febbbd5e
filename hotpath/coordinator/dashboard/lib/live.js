// The live feed: one Server-Sent-Events stream from the coordinator (GET /events), read with fetch so
// the API key travels in the Authorization header (EventSource cannot send headers). Pages subscribe
// with NATS subject patterns; the connection reconnects on its own with a growing delay.

import { headers } from "./api.js";

const handlers = new Set();
const statusListeners = new Set();
let status = "connecting";
let controller;
let started = false;
let received = 0;

export function matches(pattern, subject) {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== "*" && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Calls `fn(event)` for every envelope whose subject matches `pattern`; returns the unsubscribe. */
export function onEvent(pattern, fn) {
  const h = { pattern, fn };
  handlers.add(h);
  return () => handlers.delete(h);
}

export const liveStatus = {
  get value() {
    return status;
  },
  get received() {
    return received;
  },
  subscribe(fn) {
    statusListeners.add(fn);
    return () => statusListeners.delete(fn);
  },
};

function setStatus(s) {
  status = s;
  for (const fn of statusListeners) fn(s);
}

function deliver(data) {
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    return;
  }
  if (typeof event?.subject !== "string") return;
  received += 1;
  for (const h of handlers) {
    if (matches(h.pattern, event.subject)) {
      try {
        h.fn(event);
      } catch (err) {
        console.warn("live handler failed", err);
      }
    }
  }
}

async function connectOnce() {
  controller = new AbortController();
  const res = await fetch("/events", {
    headers: headers({ accept: "text/event-stream" }),
    signal: controller.signal,
    cache: "no-store",
  });
  if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const lines = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("data: ")) lines.push(line.slice(6));
        else if (line.startsWith("event: ")) name = line.slice(7);
      }
      if (name === "hello") setStatus("live");
      else if (name === "message" && lines.length > 0) deliver(lines.join("\n"));
      end = buffer.indexOf("\n\n");
    }
  }
}

/** Starts the stream once; later calls do nothing. */
export function startLive() {
  if (started) return;
  started = true;
  let delay = 500;
  const loop = async () => {
    for (;;) {
      setStatus("connecting");
      try {
        await connectOnce();
        delay = 500;
      } catch {
        // reconnect below
      }
      setStatus("reconnecting");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(10_000, delay * 2);
    }
  };
  void loop();
}

export function stopLive() {
  controller?.abort();
}
