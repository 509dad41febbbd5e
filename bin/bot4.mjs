#!/usr/bin/env node
// The `bot4` command: runs the TypeScript CLI (hotpath/coordinator/cli.ts) under tsx's ESM loader;
// `analyze` and `gate` run as plain node from an esbuild bundle instead (bundled.mjs: built on first
// use, rebuilt when a source changes), which starts without tsx's ~0.4 s. Usage: `bot4 --help`.
// `bot4 mcp` returns once stdin closes.
const argv = process.argv.slice(2);
let code;
if (argv[0] === "analyze" || argv[0] === "gate") {
  const { importBundled } = await import("./bundled.mjs");
  const { runAnalysisCli } = await importBundled("hotpath/coordinator/cli-analysis.ts");
  const io = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };
  code = await runAnalysisCli(argv, process.env, io);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  const { runCli } = await import(new URL("../hotpath/coordinator/cli.ts", import.meta.url).href);
  code = await runCli(argv);
}
// Writes to a pipe are asynchronous: exiting at once cut `bot4 analyze --json | …` at 64 KiB.
// An empty write's callback runs once everything written before it is flushed.
await Promise.all(
  [process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write("", resolve))),
);
process.exit(code);
