import type { Bus } from "../../core/bus/bus.ts";
import type { EventEnvelope } from "../../core/protocol/envelope.ts";
import { streams } from "../../core/subjects.ts";

/**
 * Test support: every event stored in a stream (in order), read message by message with the stream's
 * direct-get API so the test sees exactly what consumers would, duplicates included.
 */
export async function storedEvents(
  bus: Bus,
  stream: keyof typeof streams = "EVENTS",
): Promise<EventEnvelope[]> {
  const name = streams[stream].name;
  const info = await bus.jsm.streams.info(name);
  const out: EventEnvelope[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await bus.jsm.streams.getMessage(name, { seq });
    if (m !== null) out.push(m.json<EventEnvelope>());
  }
  return out;
}

/** Test support: `POST /tools/<tool>` on a running service, answering the status and the parsed body. */
export const toolPoster =
  (baseUrl: () => string) =>
  async (tool: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${baseUrl()}/tools/${tool}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
