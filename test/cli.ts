import { spawn } from "node:child_process";

/**
 * `bot4 <args>` (bin/bot4.mjs) in its own process, asynchronously (the services it talks to may run in
 * the test's process): its exit code and output. BOT4_URL and BOT4_API_KEY of the caller's environment
 * are cleared, so only `--url` / `--key` in `args` count.
 */
export function bot4(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["bin/bot4.mjs", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, BOT4_URL: "", BOT4_API_KEY: "" },
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    // "close", not "exit": the exit can come before the last of the output is read.
    p.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
