import { createLambdaHandler } from "../../adapters/lambda/handler.ts";
import { definition } from "./function.ts";

/** AWS Lambda entry: trigger batches (projected into POSTGRES_URL) and HTTP tool calls. */
export const handler = createLambdaHandler(definition);
