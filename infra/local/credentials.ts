import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { NATS_PASSWORD_PATTERN, natsUsers, newNatsPassword } from "../nats/permissions.ts";

/** The launcher's NATS credentials file under BOT4_DATA_DIR (0600): `{ "<user>": "<password>" }`. */
export const CREDENTIALS_FILE = "nats-credentials.json";

const Stored = z.record(z.string(), z.string().regex(NATS_PASSWORD_PATTERN));

/**
 * One password per user of the bus (the admin/operator and every manifest agent), kept in `file` with
 * mode 0600 so a restarted launcher reuses them (its JetStream store outlives it). Users the manifest
 * gained since are given a fresh password; the file is rewritten only when something was added.
 */
export function loadOrCreateCredentials(
  file: string,
  random: (bytes: number) => string = (n) => randomBytes(n).toString("hex"),
): Map<string, string> {
  let stored: Record<string, string> = {};
  if (existsSync(file)) {
    const parsed = Stored.safeParse(JSON.parse(readFileSync(file, "utf8")));
    if (!parsed.success) throw new Error(`${file} is not a credentials file (delete it to start afresh)`);
    stored = parsed.data;
  }
  const passwords = new Map<string, string>();
  let added = false;
  for (const u of natsUsers()) {
    let password = stored[u.user];
    if (password === undefined) {
      password = newNatsPassword(random);
      added = true;
    }
    passwords.set(u.user, password);
  }
  if (added || !existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(Object.fromEntries(passwords), null, 2)}\n`, { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return passwords;
}

/** The environment nats-server reads the passwords from (`BOT4_NATS_PASSWORD_<USER>`). */
export function passwordEnv(passwords: ReadonlyMap<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const u of natsUsers()) {
    const password = passwords.get(u.user);
    if (password !== undefined) env[u.passwordVariable] = password;
  }
  return env;
}
