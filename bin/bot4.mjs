#!/usr/bin/env node
// The `bot4` command: registers tsx's ESM loader, then runs the TypeScript CLI
// (hotpath/coordinator/cli.ts). Usage: `bot4 --help`. `bot4 mcp` returns once stdin closes.
import { register } from "tsx/esm/api";

register();
const { runCli } = await import(new URL("../hotpath/coordinator/cli.ts", import.meta.url).href);
process.exit(await runCli(process.argv.slice(2)));
