// The block helper's thread entry (core/compute/blocks.ts). Workers do not inherit the main thread's
// `--import tsx` loader hooks on Node 20, so the entry is plain JavaScript that registers tsx's ESM
// loader in the thread itself, then runs the TypeScript loop.
import { register } from "tsx/esm/api";

register();
await import("./block-loop.ts");
