import { analyzeDuplication, type SourceFile } from "../core/analysis/source-cache.ts";
import { readSources } from "../core/analysis/workspace.ts";

/**
 * The duplication part of the architect as a whole process, for the bench's side-by-side with jscpd
 * (which runs as a process too): `node --import tsx bench/architect-dup.ts <folder>…` prints the pairs
 * as JSON. Folders are read relative to the working directory, like jscpd's paths. The analysis is
 * analyzeSources' `duplicates` part with the default options (source-cache.ts: the same cache, order
 * and clone search), without the zod schemas that parse a caller's options.
 */
const files: SourceFile[] = [];
for (const dir of process.argv.slice(2)) {
  for (const f of readSources(dir))
    files.push({ path: `${dir.replace(/\/$/, "")}/${f.path}`.replace(/^\.\//, ""), text: f.text });
}
const r = analyzeDuplication(files);
process.stdout.write(
  JSON.stringify({
    files: r.files,
    lines: r.lines,
    tokens: r.tokens,
    pairs: r.report.pairs,
    timings_ms: r.timings_ms,
  }),
);
