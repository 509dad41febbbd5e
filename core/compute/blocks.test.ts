import { availableParallelism } from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { createRandom } from "../math/random.ts";
import { covarianceFrom, matrix } from "../risk/linalg.ts";
import {
  BLOCK_PAIRS,
  inThread,
  type MonteCarloVarInput,
  monteCarloVar,
  simulatePortfolioReturns,
} from "../risk/var.ts";
import { blockHelperState, closeBlockHelper, sharedBlocks } from "./blocks.ts";

/** A correlated market of n assets (one-factor correlations), seeded. */
function input(n: number, paths: number, seed: number): MonteCarloVarInput {
  const rng = createRandom(n * 7919 + paths);
  const beta = Array.from({ length: n }, () => 0.3 + 0.5 * rng.uniform());
  const corr = beta.map((a, i) => beta.map((b, j) => (i === j ? 1 : a * b)));
  const vol = Array.from({ length: n }, () => 0.01 + 0.04 * rng.uniform());
  return {
    mean: Array.from({ length: n }, (_, i) => 0.0002 * (i - 2)),
    covariance: covarianceFrom(vol, matrix(corr)),
    weights: Array.from({ length: n }, () => 1 / n),
    confidence: 0.99,
    horizon: 2,
    paths,
    seed,
  };
}

afterAll(closeBlockHelper);

describe("the shared block runner (caller + helper thread)", () => {
  it("gives exactly the paths of the in-thread runner, for one block, two, many and odd path counts", () => {
    for (const [n, paths] of [
      [3, 7],
      [5, 2 * BLOCK_PAIRS + 1],
      [20, 10_000],
      [11, 6_001],
    ] as const) {
      // Repeated: the split between the caller and the helper differs from call to call.
      for (let k = 0; k < 25; k++) {
        const one = input(n, paths, k);
        expect(simulatePortfolioReturns(one, sharedBlocks)).toEqual(simulatePortfolioReturns(one, inThread));
      }
    }
    expect(monteCarloVar(input(20, 10_000, 3), sharedBlocks)).toEqual(
      monteCarloVar(input(20, 10_000, 3), inThread),
    );
  });

  it("runs a helper thread when the machine has a second core, and restarts one after it is stopped", async () => {
    monteCarloVar(input(8, 4_000, 1), sharedBlocks);
    expect(blockHelperState().state).toBe(availableParallelism() >= 2 ? "running" : "none");
    await closeBlockHelper();
    expect(blockHelperState().state).toBe("none");
    const again = input(8, 4_000, 2);
    expect(monteCarloVar(again, sharedBlocks)).toEqual(monteCarloVar(again, inThread));
  });

  it("shares the work: once the helper is up it simulates some of the blocks, and the paths stay the same", () => {
    if (availableParallelism() < 2) return;
    const big = input(20, 10_000, 9);
    const want = simulatePortfolioReturns(big, inThread);
    const before = blockHelperState().helperBlocks;
    // The helper starts in the background (its thread loads the modules): call until it has taken
    // blocks, at most a few thousand calls.
    for (let i = 0; i < 5_000 && blockHelperState().helperBlocks === before; i++)
      expect(simulatePortfolioReturns(big, sharedBlocks)).toEqual(want);
    expect(blockHelperState().helperBlocks).toBeGreaterThan(before);
    expect(blockHelperState().state).toBe("running");
  });
});
