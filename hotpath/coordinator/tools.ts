import { z } from "zod";
import type { Bus } from "../../adapters/nats/bus.ts";
import { rejected } from "../../core/tools/errors.ts";
import { defineTool } from "../../core/tools/tool.ts";
import { resolveAgent } from "./directory.ts";
import { AgentStatus, systemStatus } from "./status.ts";

/** The coordinator's own tools: what an orchestrator asks before it calls the agents. */
export function coordinatorTools(bus: Bus) {
  return [
    defineTool({
      name: "agent_status",
      description:
        "Status of every agent (or one, by name or seed alias): health, instances, version, last heartbeat, " +
        "and for functions the lag of their JetStream consumers",
      input: z.object({ agent: z.string().min(1).optional() }),
      output: z.object({ agents: z.array(AgentStatus) }),
      handler: async ({ agent }) => {
        if (!bus.connected) throw rejected("the coordinator is not connected to NATS");
        const status = await systemStatus(bus);
        if (agent === undefined) return { agents: status.agents };
        const name = resolveAgent(agent).name;
        return { agents: status.agents.filter((a) => a.name === name) };
      },
    }),
  ];
}
