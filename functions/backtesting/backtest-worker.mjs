// Worker-thread entry of a queued backtest (run-in-worker.ts): loads the TypeScript worker through
// tsx's API, since a worker does not inherit the parent's loader.
import { tsImport } from "tsx/esm/api";

await tsImport(new URL("./backtest-worker.ts", import.meta.url).href, import.meta.url);
