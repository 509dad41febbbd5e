import { mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * Where an exchange's journal lives: `<base>/<n>/`, one directory per running exchange on the same
 * EVENTS stream and data directory, each held with a lock file (`lock`, the holder's pid, created
 * exclusively). A directory whose holder is gone (no such process, or released in this process) can
 * be taken by the next exchange: that is how a journal left by kill -9 is found and replayed.
 */
const LOCK = "lock";
/** Directories held by this process (several exchanges in one process: tests, benches). */
const held = new Set<string>();

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Takes the directory's lock when nobody holds it; true when taken. */
function take(dir: string): boolean {
  if (held.has(dir)) return false;
  const lock = join(dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      held.add(dir);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number.parseInt(readFileSync(lock, "utf8"), 10);
      // Ours but not held: released without its file removed; another process's: only when it died.
      if (Number.isFinite(pid) && pid !== process.pid && alive(pid)) return false;
      rmSync(lock, { force: true });
    }
  }
  return false;
}

export interface JournalDirs {
  /** The directory this exchange journals into (held). */
  own: string;
  /** Directories left by exchanges that are gone (held now): replay, then `release(dir, true)`. */
  orphans: string[];
}

/** Takes every free journal directory under `base`, and one of its own (a new one when none is free). */
export function takeJournalDirs(base: string): JournalDirs {
  const root = resolve(base);
  mkdirSync(root, { recursive: true });
  const names = readdirSync(root)
    .filter((n) => /^\d+$/.test(n))
    .sort((a, b) => Number(a) - Number(b));
  const taken = names.map((n) => join(root, n)).filter(take);
  let own = taken.shift();
  for (let n = names.length; own === undefined; n++) {
    const dir = join(root, String(n));
    mkdirSync(dir, { recursive: true });
    if (take(dir)) own = dir;
  }
  return { own, orphans: taken };
}

/** Releases a directory's lock; `remove` also deletes it (its journal is empty). */
export function releaseJournalDir(dir: string, remove: boolean): void {
  held.delete(dir);
  if (remove) rmSync(dir, { recursive: true, force: true });
  else rmSync(join(dir, LOCK), { force: true });
}
