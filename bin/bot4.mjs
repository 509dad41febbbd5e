#!/usr/bin/env node
// The `bot4` command: registers tsx's ESM loader, then runs the TypeScript CLI
// (hotpath/coordinator/cli.ts). Usage: `bot4 --help`. `bot4 mcp` returns once stdin closes.
import { register } from "tsx/esm/api";

register();
const { runCli } = await import(new URL("../hotpath/coordinator/cli.ts", import.meta.url).href);
const code = await runCli(process.argv.slice(2));
// Writes to a pipe are asynchronous: exiting at once cut `bot4 analyze --json | …` at 64 KiB.
// An empty write's callback runs once everything written before it is flushed.
await Promise.all(
  [process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write("", resolve))),
);
process.exit(code);
