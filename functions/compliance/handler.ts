import { createLambdaHandler } from "../../adapters/lambda/handler.ts";
import { definition } from "./function.ts";

/** AWS Lambda entry: trigger batches and HTTP tool calls (API Gateway v2 / function URL). */
export const handler = createLambdaHandler(definition);
