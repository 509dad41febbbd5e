/**
 * A 429 is a service protecting itself, not an answer: nothing ran, so a client may wait the
 * Retry-After the server gave and send the same request again. One rule for every Bot4 HTTP client
 * (the CLI's coordinator client, the IntegrationValidator's transports).
 */

/** How many times a rate-limited request is sent again. */
export const RATE_LIMIT_RETRIES = 5;

/**
 * The wait before sending again after answer number `attempt` (0 for the first), or undefined when
 * the answer is final: not a 429, or the retries are spent. Retry-After is read in seconds (absent or
 * unreadable: 0.2 s), and the wait is clamped to [50 ms, `maxWaitMs`].
 */
export function rateLimitWaitMs(
  res: { status: number; headers: { get(name: string): string | null } },
  attempt: number,
  maxWaitMs = 10_000,
): number | undefined {
  if (res.status !== 429 || attempt >= RATE_LIMIT_RETRIES) return undefined;
  const seconds = Number(res.headers.get("retry-after") ?? Number.NaN);
  const ms = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1_000 : 200;
  return Math.min(maxWaitMs, Math.max(50, ms));
}
