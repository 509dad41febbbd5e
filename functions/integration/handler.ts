import { createLambdaHandler } from "../../adapters/lambda/handler.ts";
import { definition } from "./function.ts";

export const handler = createLambdaHandler(definition);
