import { randomUUID } from "node:crypto";
import { afterAll } from "vitest";

/**
 * A PostgreSQL database of its own for one test file, on the machine's server (POSTGRES_TEST_URL,
 * default postgres://postgres@127.0.0.1:5432/postgres; `.ci/run` makes sure it runs). The database
 * gets a unique name, so parallel runs never collide, and is dropped after the file. No server is a
 * failure with the fix in the message, never a skipped test.
 */
export const adminUrl = () => process.env.POSTGRES_TEST_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const created = new Set<string>();

afterAll(async () => {
  if (created.size === 0) return;
  const { default: postgres } = await import("postgres");
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    for (const db of created) await admin.unsafe(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  } finally {
    created.clear();
    await admin.end({ timeout: 5 });
  }
});

/** Creates a fresh database and returns its URL (dropped after the file). */
export async function testDatabase(prefix = "bot4_test"): Promise<string> {
  const { default: postgres } = await import("postgres");
  const name = `${prefix}_${process.pid}_${randomUUID().slice(0, 8)}`.toLowerCase();
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${adminUrl()} (${err instanceof Error ? err.message : String(err)}). ` +
        "Start it (pg_ctlcluster --skip-systemctl-redirect 15 main start, or `.ci/run`, which installs it if missing) or set POSTGRES_TEST_URL.",
    );
  } finally {
    await admin.end({ timeout: 5 });
  }
  created.add(name);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}
