import { createLambdaHandler } from "../../core/functions/lambda-handler.ts";
import { definition } from "./function.ts";

export const handler = createLambdaHandler(definition);
