import { createLambdaHandler } from "../../adapters/lambda/handler.ts";
import { definition } from "./function.ts";

/** The architect function's Lambda entry: trigger batches and HTTP tool calls. */
export const handler = createLambdaHandler(definition);
