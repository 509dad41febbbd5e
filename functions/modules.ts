import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { AnyFunctionDefinition, FunctionModule } from "../core/functions/contract.ts";
import type { LambdaHandler } from "../adapters/lambda/handler.ts";

const here = dirname(fileURLToPath(import.meta.url));

/** `functions/<name>/<file>` if it exists. */
function moduleFile(name: string, file: string): string | undefined {
  const path = join(here, name, file);
  return existsSync(path) ? path : undefined;
}

/** The definition exported by `functions/<name>/function.ts`, or undefined when there is no module. */
export async function loadFunction(name: string): Promise<AnyFunctionDefinition | undefined> {
  const path = moduleFile(name, "function.ts");
  if (path === undefined) return undefined;
  const mod = (await import(pathToFileURL(path).href)) as Partial<FunctionModule>;
  if (mod.definition === undefined || mod.definition.name !== name) {
    throw new Error(`functions/${name}/function.ts must export \`definition\` for function "${name}"`);
  }
  return mod.definition;
}

/** The Lambda `handler` exported by `functions/<name>/handler.ts`, or undefined when there is none. */
export async function loadLambdaHandler(name: string): Promise<LambdaHandler | undefined> {
  const path = moduleFile(name, "handler.ts");
  if (path === undefined) return undefined;
  const mod = (await import(pathToFileURL(path).href)) as { handler?: LambdaHandler };
  if (typeof mod.handler !== "function")
    throw new Error(`functions/${name}/handler.ts must export \`handler\``);
  return mod.handler;
}
