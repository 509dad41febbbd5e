import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import type { SourceFile } from "./source-cache.ts";

/**
 * The file-system and git side of the analysis (the analysis itself is pure): which files a path
 * holds, their text, the lines a diff adds, and a base revision's tree in a temporary directory.
 */

export const SOURCE_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"];
/** Folders never descended into (below the root: a root inside node_modules is analysed). */
const SKIP_DIRS = new Set(["node_modules", ".git", "dist", "coverage", ".sst", ".bot4"]);
const MAX_FILE_BYTES = 1_000_000;

const isSource = (p: string) =>
  SOURCE_EXTENSIONS.some((e) => p.endsWith(e)) && !p.endsWith(".d.ts") && !p.endsWith(".min.js");

const toPosix = (p: string) => (sep === "/" ? p : p.split(sep).join("/"));

/**
 * `rel` (a listed path: git's or walk's, already normal) under the absolute folder `abs`: joined as
 * text, not by path.join, whose normalisation character by character was a few ms of a cold run.
 */
const under = (abs: string, rel: string) => (abs.endsWith(sep) ? abs + rel : abs + sep + rel);

function gitFiles(root: string): string[] | undefined {
  if (!existsSync(join(root, ".git"))) return undefined;
  try {
    const out = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
      stdio: ["ignore", "pipe", "ignore"],
    });
    // Files deleted from the working tree but still tracked are dropped later (listSources, readSources).
    return out
      .toString("utf8")
      .split("\0")
      .filter((p) => p !== "");
  } catch {
    return undefined;
  }
}

function walk(root: string, dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(root, full, out);
    } else if (entry.isFile()) {
      out.push(toPosix(relative(root, full)));
    }
  }
}

/**
 * The source files under `root` (TypeScript and JavaScript, no declaration files), repository-relative:
 * tracked and untracked-but-not-ignored files when `root` is a git checkout, otherwise a walk that
 * skips node_modules, .git, dist and coverage folders below the root. Files over 1 MB, and tracked files
 * deleted from the working tree, are skipped.
 */
export function listSources(root: string): string[] {
  const abs = resolve(root);
  if (statSync(abs).isFile()) return [toPosix(abs)];
  // One stat per file: that it exists and is small enough.
  return candidates(abs).filter(
    (p) => (statSync(under(abs, p), { throwIfNoEntry: false })?.size ?? Infinity) <= MAX_FILE_BYTES,
  );
}

/** The source files under the folder `abs` as git lists them (or a walk), sorted; not checked. */
function candidates(abs: string): string[] {
  let files = gitFiles(abs);
  if (files === undefined) {
    files = [];
    walk(abs, abs, files);
  }
  return files.filter(isSource).sort();
}

/**
 * The text of `file`, or undefined when it does not exist or is over MAX_FILE_BYTES (listSources'
 * checks, without a stat: UTF-8 has 1 to 3 bytes per UTF-16 unit, so only a text between a third of
 * the limit and the limit long needs one).
 */
function readIfListed(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw e;
  }
  if (text.length * 3 <= MAX_FILE_BYTES) return text;
  return text.length <= MAX_FILE_BYTES && statSync(file).size <= MAX_FILE_BYTES ? text : undefined;
}

/**
 * Reads the sources under `root` (listSources' files, each read once and not stat'ed too, or
 * `paths`); paths stay relative to it.
 */
export function readSources(root: string, paths?: readonly string[]): SourceFile[] {
  const abs = resolve(root);
  if (statSync(abs).isFile())
    return [{ path: toPosix(relative(process.cwd(), abs)), text: readFileSync(abs, "utf8") }];
  if (paths !== undefined) return paths.map((p) => ({ path: p, text: readFileSync(join(abs, p), "utf8") }));
  const out: SourceFile[] = [];
  for (const p of candidates(abs)) {
    const text = readIfListed(under(abs, p));
    if (text !== undefined) out.push({ path: p, text });
  }
  return out;
}

function git(root: string, args: readonly string[]): string {
  return execFileSync("git", [...args], {
    cwd: root,
    maxBuffer: 256 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
  }).toString("utf8");
}

/** Whether `ref` names a commit in the repository at `root`. */
export function hasCommit(root: string, ref: string): boolean {
  try {
    git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
    return true;
  } catch {
    return false;
  }
}

/** The commit `HEAD` points at, or undefined outside a repository. */
export function headCommit(root: string): string | undefined {
  try {
    return git(root, ["rev-parse", "HEAD"]).trim();
  } catch {
    return undefined;
  }
}

/**
 * The lines the working tree adds or changes relative to `base` (a commit), per file: from
 * `git diff --unified=0 <base>` hunks, plus every line of untracked files.
 */
export function changedLines(root: string, base: string): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  const diff = git(root, [
    "diff",
    "--unified=0",
    "--no-color",
    "--no-renames",
    "--no-ext-diff",
    base,
    "--",
    ".",
  ]);
  let file: string | undefined;
  for (const line of diff.split("\n")) {
    if (line.startsWith("+++ ")) {
      const p = line.slice(4);
      file = p === "/dev/null" ? undefined : p.replace(/^b\//, "");
      continue;
    }
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (hunk !== null && file !== undefined) {
      const start = Number(hunk[1]);
      const count = hunk[2] === undefined ? 1 : Number(hunk[2]);
      let set = out.get(file);
      if (set === undefined) {
        set = new Set();
        out.set(file, set);
      }
      for (let i = 0; i < count; i++) set.add(start + i);
    }
  }
  const untracked = git(root, ["ls-files", "-z", "--others", "--exclude-standard"]).split("\0");
  for (const p of untracked) {
    if (p === "" || !isSource(p)) continue;
    const text = readFileSync(join(root, p), "utf8");
    const n = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    out.set(p, new Set(Array.from({ length: n }, (_, i) => i + 1)));
  }
  return out;
}

/** Extracts `ref`'s tree into a temporary directory (`git archive | tar -x`); call `remove()` after. */
export function checkoutTree(root: string, ref: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "bot4-base-"));
  const tar = execFileSync("git", ["archive", "--format=tar", ref], {
    cwd: root,
    maxBuffer: 1024 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
  });
  execFileSync("tar", ["-x", "-C", dir], { input: tar, stdio: ["pipe", "ignore", "pipe"] });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The paths `ref`'s tree holds (for analysing a base revision with the same file selection). */
export function treeSources(root: string, ref: string): string[] {
  return git(root, ["ls-tree", "-r", "-z", "--name-only", ref])
    .split("\0")
    .filter((p) => p !== "" && isSource(p))
    .sort();
}

/** Reads a JSON file, or undefined when it does not exist. */
export function readJsonFile(path: string): unknown {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8"));
}
