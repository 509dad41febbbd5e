import { readSources } from "../core/analysis/workspace.ts";
import { analyzeSources, type SourceFile } from "../core/analysis/analyze.ts";

/**
 * The duplication part of the architect as a whole process, for the bench's side-by-side with jscpd
 * (which runs as a process too): `node --import tsx bench/architect-dup.ts <folder>…` prints the pairs
 * as JSON. Folders are read relative to the working directory, like jscpd's paths.
 */
const files: SourceFile[] = [];
for (const dir of process.argv.slice(2)) {
  for (const f of readSources(dir))
    files.push({ path: `${dir.replace(/\/$/, "")}/${f.path}`.replace(/^\.\//, ""), text: f.text });
}
const r = analyzeSources(files, { parts: ["duplicates"] });
process.stdout.write(
  JSON.stringify({
    files: r.files,
    lines: r.lines,
    tokens: r.tokens,
    pairs: r.duplicates,
    timings_ms: r.timings_ms,
  }),
);
