// The CPU pool's worker entry (piscina). Workers do not inherit the main thread's `--import tsx`
// loader hooks on Node 20, so the entry is plain JavaScript that registers tsx's ESM loader in the
// worker itself; the task modules it then imports are TypeScript. One task names a module (file URL)
// and one of its exported functions; the answer is `{ ok, value }` or `{ ok: false, error }` (a
// ToolError's code/message/data survive the thread hop, which a thrown object's class would not).
import { register } from "tsx/esm/api";

register();

export default async function run({ module, fn, args }) {
  try {
    const mod = await import(module);
    const f = mod[fn];
    if (typeof f !== "function") throw new Error(`${module} exports no function ${fn}`);
    return { ok: true, value: await f(args) };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return {
      ok: false,
      error: {
        name: e.name,
        message: e.message,
        ...(typeof e.code === "number" ? { code: e.code } : {}),
        ...(e.data !== undefined ? { data: e.data } : {}),
      },
    };
  }
}
