/**
 * The strategies page driving the strategy agent from a real browser: create a strategy, start it,
 * pause and resume it, stop it (with its confirmation), each step checked against `list_strategies`
 * through the API. The form creates it stopped (`start: false`), so the first step is a real start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findAgent } from "../core/agents/manifest.ts";
import { type Browser, openBrowser, type RunningBot4, startBot4 } from "./browser.ts";

/** list_strategies' summary of one strategy (hotpath/strategy/tools.ts), the fields this test reads. */
interface Listed {
  id: string;
  status: "running" | "paused" | "stopped";
}

describe("strategies page with the strategy agent", () => {
  let bot4: RunningBot4;
  let browser: Browser;
  beforeAll(async () => {
    bot4 = await startBot4();
    browser = await openBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await bot4?.stop();
  });

  const list = async () => {
    const r = await bot4.rpc("strategy", "list_strategies", {});
    if (r.error !== undefined) throw new Error(`list_strategies: ${r.error.message}`);
    return (r.result as { strategies: Listed[] }).strategies;
  };
  const idOf = (s: Listed) => s.id;
  const statusOf = (s: Listed | undefined) => s?.status;

  it("creates, starts, pauses, resumes and stops a strategy from the UI", async () => {
    expect(findAgent("strategy"), "the strategy agent is in the manifest").toBeDefined();
    const { page } = browser;
    await page.goto(`${bot4.url}/#/strategies`);
    await page.waitForSelector("#create-strategy", { timeout: 15_000 });
    const before = (await list()).map(idOf);

    await page.fill("#create-strategy input[name=params]", '{"fast": 5, "slow": 20}');
    await page.click("#create-strategy button[type=submit]");
    await page.locator("#create-strategy .ok").waitFor({ timeout: 10_000 });
    const created = await (async () => {
      for (let i = 0; i < 100; i++) {
        const s = (await list()).find((x) => !before.includes(idOf(x)));
        if (s !== undefined) return s;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error("the created strategy never appeared in list_strategies");
    })();
    const id = idOf(created);
    expect(statusOf(created)).toBe("stopped");
    const row = page.locator("#strategies tbody tr", { hasText: id });
    await row.waitFor({ timeout: 10_000 });

    const step = async (action: string, expected: string, confirm = false) => {
      await row.locator(`button[data-action=${action}]`).click();
      if (confirm) {
        await page.getByRole("dialog").waitFor();
        await page.click("[data-confirm=yes]");
      }
      await expect
        .poll(async () => statusOf((await list()).find((s) => idOf(s) === id)), { timeout: 10_000 })
        .toBe(expected);
      await expect
        .poll(() => row.locator("[data-status]").getAttribute("data-status"), { timeout: 10_000 })
        .toBe(expected);
    };
    await step("start_strategy", "running");
    await browser.screenshot("strategy-running");
    await step("pause_strategy", "paused");
    await step("resume_strategy", "running");
    await step("stop_strategy", "stopped", true);
    await browser.screenshot("strategy-stopped");

    // The strategy's decisions and parameters open from its row.
    await row.locator("a").first().click();
    await page.waitForSelector("#strategy-details");
    expect(browser.errors).toEqual([]);
  }, 120_000);
});
