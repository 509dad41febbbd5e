import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{core,adapters,hotpath,functions,stacks,infra,bench,test}/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    reporters: ["default"],
  },
});
