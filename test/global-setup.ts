import type { TestProject } from "vitest/node";
import { startNatsServer } from "../infra/nats-server/process.ts";

/**
 * Starts one private `nats-server -js` (free port, temporary store) for the whole run and hands its
 * URL to the tests through `inject("natsUrl")`. Without nats-server the run fails with the install
 * hint; it never skips.
 */
export default async function setup(project: TestProject) {
  const server = await startNatsServer();
  project.provide("natsUrl", server.url);
  return async () => {
    await server.stop({ clean: true });
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    natsUrl: string;
  }
}
