import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Locator } from "playwright-core";
import { manifest } from "../core/agents/manifest.ts";
import { type Browser, openBrowser, type RunningBot4, startBot4, topLevelKeys } from "./browser.ts";

/**
 * The dashboard in a real browser (headless Chromium through playwright-core) against a whole system
 * started like `npm start`: every page renders live data without a console error, an order placed from
 * the trading page fills, a backtest run from the form draws its equity curve, and the kill switch
 * asks for confirmation before it changes anything. Screenshots go to test/screenshots/.
 */
describe("dashboard in Chromium", () => {
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

  const open = async (page: string) => {
    await browser.page.goto(`${bot4.url}/#/${page}`);
    await browser.page.waitForSelector(`main[data-page="${page}"]`);
  };
  const count = (selector: string) => browser.page.locator(selector).count();
  const textOf = async (l: Locator) => (await l.first().textContent({ timeout: 10_000 })) ?? "";
  const attr = (selector: string, name: string) => browser.page.locator(selector).getAttribute(name);
  const visible = (l: Locator, timeout = 10_000) => l.first().waitFor({ state: "visible", timeout });

  it("overview: agents and health, equity, positions, alerts — live", async () => {
    const { page } = browser;
    await open("overview");
    await page.waitForSelector("#live-status[data-status=live]");
    const agents = page.locator("#agents tbody tr");
    // Every agent of the manifest, each up: the services and the functions' trigger shards.
    await expect.poll(() => agents.count(), { timeout: 15_000 }).toBe(manifest.length);
    await expect
      .poll(async () => (await agents.locator(".badge").allTextContents()).filter((t) => t !== "up"), {
        timeout: 30_000,
      })
      .toEqual([]);
    for (const name of ["strategy", "ledger", "architect", "quality", "infra", "integration"]) {
      expect(await textOf(page.locator("#agents tbody tr", { hasText: name }).locator(".badge"))).toBe("up");
    }
    // RiskQuant's equity, sampled every 2 s, appears on the chart.
    await expect
      .poll(async () => Number(await attr("#equity-chart", "data-points")), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(2);
    // The ledger's profit: the closed trades shown lie between two calls of ledger.profit made around
    // the reading (the default strategy keeps trading meanwhile), and the realised PnL is the tool's.
    const closed = async () =>
      ((await bot4.rpc("ledger", "profit", {})).result as { total: { closed_trades: number } }).total
        .closed_trades;
    await expect.poll(() => closed(), { timeout: 60_000, interval: 1_000 }).toBeGreaterThanOrEqual(1);
    await expect
      .poll(
        async () => {
          const low = await closed();
          const shown = Number(
            await textOf(page.locator("#ledger-profit .kv div", { hasText: "closed trades" }).locator("dd")),
          );
          const high = await closed();
          return shown >= low && shown <= high && shown >= 1;
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    await visible(page.locator("#ledger-by-strategy tbody tr", { hasText: "default-paper" }));
    await visible(page.locator("#ledger-equity-chart"), 20_000);
    await visible(page.locator("#period-pnl .kv div", { hasText: "realized PnL" }));
    await browser.screenshot("overview");
  }, 120_000);

  it("trading: live candles and book; an order from the ticket fills and shows in orders, fills, positions", async () => {
    const { page } = browser;
    await open("trading");
    await expect
      .poll(async () => Number(await attr("#candles-chart", "data-bars")), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(2);
    await visible(page.locator("#order-book"));
    const bookTs = Number(await attr("#order-book", "data-ts"));
    await expect
      .poll(async () => Number(await attr("#order-book", "data-ts")), { timeout: 10_000 })
      .toBeGreaterThan(bookTs);
    await page.fill("#order-ticket input[name=amount]", "0.002");
    await page.click("#order-ticket button[type=submit]");
    await expect.poll(() => textOf(page.locator("#order-result"))).toContain("filled: 0.002");
    // The default strategy trades BTC/USDT on the same paper account: its fills show too, and the
    // position is the sum of both, so the ticket's fill is looked for among the fills by its amount.
    await visible(page.locator("#fills tbody tr", { hasText: "0.002" }));
    await expect.poll(() => count("#orders tbody tr"), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await visible(page.locator("#positions tbody tr", { hasText: "BTC/USDT" }));
    // The ledger's trades of the ticket's order (no strategy) appear in the trades table.
    const manual = async () =>
      (
        (await bot4.rpc("ledger", "get_trades", { symbol: "BTC/USDT" })).result as {
          trades: { strategy_id: string | null }[];
        }
      ).trades.filter((t) => t.strategy_id === null).length;
    await expect.poll(manual, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    await visible(
      page
        .locator("#ledger-trades tbody tr", { hasText: "BTC/USDT" })
        .filter({ has: page.locator("[data-manual]") }),
      15_000,
    );
    // The fill is drawn on the chart as a marker.
    await expect
      .poll(async () => Number(await attr("#candles-chart", "data-markers")))
      .toBeGreaterThanOrEqual(1);
    await browser.screenshot("trading");
  }, 60_000);

  it("risk: limits and utilisation; the kill switch asks first, then engages and releases", async () => {
    const { page } = browser;
    await open("risk");
    await expect.poll(() => count("#limits tbody tr"), { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    expect(await attr("#kill-switch", "data-engaged")).toBe("false");

    // Cancel changes nothing.
    await page.click("#kill-switch-button");
    await visible(page.getByRole("dialog"));
    await browser.screenshot("risk-kill-switch-confirmation");
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
    await expect.poll(() => page.getByRole("dialog").count()).toBe(0);
    const before = (await bot4.rpc("risk", "risk_metrics", {})).result as {
      limits: { kill_switch: boolean };
    };
    expect(before.limits.kill_switch).toBe(false);

    // Confirm engages it: the risk service says so and refuses orders.
    await page.click("#kill-switch-button");
    await page.getByRole("dialog").locator("input[name=reason]").fill("browser test");
    await page.click("[data-confirm=yes]");
    await expect.poll(() => attr("#kill-switch", "data-engaged"), { timeout: 10_000 }).toBe("true");
    const engaged = (await bot4.rpc("risk", "risk_metrics", {})).result as {
      limits: { kill_switch: boolean };
    };
    expect(engaged.limits.kill_switch).toBe(true);
    const refused = await bot4.rpc("exchange", "submit_order", {
      symbol: "BTC/USDT",
      side: "buy",
      type: "market",
      amount: 0.001,
    });
    expect(refused.error?.message ?? JSON.stringify(refused.result)).toMatch(/kill/i);
    await expect.poll(() => textOf(page.locator("#controls tbody tr"))).toContain("kill_switch");
    await browser.screenshot("risk-kill-switch-engaged");

    await page.click("#kill-switch-button");
    await page.click("[data-confirm=yes]");
    await expect.poll(() => attr("#kill-switch", "data-engaged"), { timeout: 10_000 }).toBe("false");
    const released = (await bot4.rpc("risk", "risk_metrics", {})).result as {
      limits: { kill_switch: boolean };
    };
    expect(released.limits.kill_switch).toBe(false);
  }, 60_000);

  it("compliance: report, violations and an audit-trail search that finds the order's records", async () => {
    const { page } = browser;
    await open("compliance");
    await visible(page.getByText("decisions"));
    await page.fill("#audit-search input[name=symbol]", "BTC/USDT");
    await page.click("#audit-search button[type=submit]");
    await expect
      .poll(async () => Number((await page.locator("#audit-count").textContent())?.split(" ")[0]), {
        timeout: 15_000,
      })
      .toBeGreaterThanOrEqual(1);
    expect(await textOf(page.locator("#audit-results tbody tr"))).toContain("BTC/USDT");
    await browser.screenshot("compliance");
  }, 60_000);

  it("backtests: a run from the form draws its equity curve and the metrics of the tool", async () => {
    const { page } = browser;
    await open("backtests");
    await page.fill("#backtest-form input[name=bars]", "3000");
    await page.fill("#backtest-form input[name=seed]", "7");
    await page.click("#backtest-form button[type=submit]");
    await page.waitForSelector("#backtest-result", { timeout: 30_000 });
    // The same run through the API, independently of the page: same curve length and total return.
    const direct = (
      await bot4.rpc("backtesting", "run_backtest", {
        strategy: { kind: "ma_crossover", fast: 10, slow: 30 },
        initial_cash: 10_000,
        fees: { maker: 0.001, taker: 0.001 },
        sizing: { kind: "fixed", fraction: 1 },
        data: { source: "simulated", bars: 3000, params: { seed: 7 } },
      })
    ).result as { equity_curve: { ts: number }[]; metrics: { total_return: number; trades: number } };
    const seconds = new Set(direct.equity_curve.map((p) => Math.floor(p.ts / 1000))).size;
    expect(seconds).toBeGreaterThan(100);
    expect(Number(await attr("#backtest-equity", "data-points"))).toBe(seconds);
    const shown = `${(direct.metrics.total_return * 100).toFixed(2)} %`;
    expect(await textOf(page.locator("#backtest-result .kv div", { hasText: "total return" }))).toContain(
      shown,
    );
    expect(await count("#backtest-trades tbody tr")).toBe(Math.min(direct.metrics.trades, 200));
    await browser.screenshot("backtests");

    await page.click("#walk-forward-button");
    await page.waitForSelector("#walk-forward-windows tbody tr", { timeout: 60_000 });
    expect(await count("#walk-forward-windows tbody tr")).toBeGreaterThanOrEqual(1);
    await browser.screenshot("backtests-walk-forward");
  }, 120_000);

  it("strategies: lists the default strategy running with its profit, and the model's live signals", async () => {
    const { page } = browser;
    await open("strategies");
    const row = page.locator("#strategies tbody tr", { hasText: "default-paper" });
    await visible(row);
    expect(await row.locator("[data-status]").getAttribute("data-status")).toBe("running");
    expect(await textOf(row)).toContain("ma_crossover");
    expect(await textOf(row)).toContain("BTC/USDT");
    expect(await count("#strategies-missing")).toBe(0);
    // Running: pause and stop are offered, start is not.
    expect(await row.locator("button[data-action=pause_strategy]").count()).toBe(1);
    expect(await row.locator("button[data-action=stop_strategy]").count()).toBe(1);
    expect(await row.locator("button[data-action=start_strategy]").count()).toBe(0);
    // Its details: the parameters of get_strategy and its decisions with their reasons.
    await row.locator("a").first().click();
    await visible(page.locator("#strategy-details"));
    expect(await page.locator("#strategy-details textarea[name=params]").inputValue()).toContain('"fast": 3');
    await expect
      .poll(() => count("#strategy-decisions tbody tr td:nth-child(3)"), { timeout: 20_000 })
      .toBeGreaterThanOrEqual(1);
    await expect.poll(() => count("#model-signals tbody tr"), { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
    await browser.screenshot("strategies");
  }, 60_000);

  it("infra & code quality: health report and alerts, consumer lag, tool latencies, architect and quality gate", async () => {
    const { page } = browser;
    await open("infra");
    await visible(page.locator("#consumers tbody tr", { hasText: "compliance" }));
    await visible(page.locator("#latencies tbody tr", { hasText: "risk.risk_metrics" }));
    // The InfraEngineer's health report: one row per agent of the manifest, each with its state.
    await expect.poll(() => count("#health-agents tbody tr"), { timeout: 30_000 }).toBe(manifest.length);
    const report = (await bot4.rpc("infra", "health_report", {})).result as { status: string };
    expect(["ok", "degraded", "critical"]).toContain(report.status);
    expect(await attr("#health-report", "data-status")).not.toBe("unknown");
    await visible(page.locator("#health-agents tbody tr", { hasText: "exchange" }));
    // get_alerts (firing and pending): a table of them, or the plain "none" line when there is none.
    await visible(page.locator("#alerts").or(page.getByText("no alert is firing")));
    // Architect on a folder: the page shows the tool's file and line counts.
    await page.fill("#architect-report input[name=path]", "core/domain");
    await page.click("#architect-report button[type=submit]");
    const analysis = (await bot4.rpc("architect", "analyze_code", { path: "core/domain" })).result as {
      files: number;
      lines: number;
    };
    await expect
      .poll(() => textOf(page.locator("#architect-report .kv div", { hasText: "files" }).locator("dd")), {
        timeout: 30_000,
      })
      .toBe(String(analysis.files));
    expect(await count("#architect-report-missing")).toBe(0);
    // The quality gate on a folder of the checkout: passed or failed, with one row per condition of the tool.
    await page.fill("#quality-report input[name=path]", "core/domain");
    await page.click("#quality-report button[type=submit]");
    await page.waitForSelector("#gate-conditions tbody tr", { timeout: 60_000 });
    const gate = await attr("#quality-report [data-gate]", "data-gate");
    expect(["passed", "failed"]).toContain(gate);
    expect(await count("#gate-conditions tbody tr")).toBeGreaterThanOrEqual(4);
    await browser.screenshot("infra");
  }, 120_000);

  it("printed no console error on any page", () => {
    expect(browser.errors).toEqual([]);
  });

  it("logged JSON lines without a duplicated key, and the URLs with the dashboard first", () => {
    const lines = bot4
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"));
    expect(lines.length).toBeGreaterThan(10);
    const duplicated = lines.filter((l) => new Set(topLevelKeys(l)).size !== topLevelKeys(l).length);
    expect(duplicated).toEqual([]);
    const up = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => String(l.msg).startsWith("Bot4 is up"));
    expect(up).toMatchObject({ dashboard: `${bot4.url}/`, mcp: `${bot4.url}/mcp` });
    expect(Object.keys(up ?? {}).indexOf("dashboard")).toBeLessThan(
      Object.keys(up ?? {}).indexOf("services"),
    );
    // Every agent is built now: no line or warning says one is missing.
    expect(lines.filter((l) => /not (implemented|built)/.test(l))).toEqual([]);
  });
});
