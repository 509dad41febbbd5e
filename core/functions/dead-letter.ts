import { z } from "zod";

/**
 * What a dead letter on `dlq.<function>` carries (as the `data` of an envelope of type
 * `dlq.dead_letter`): enough to inspect the failure and to republish the original message as it was.
 */
export const DeadLetter = z.object({
  function: z.string(),
  consumer: z.string(),
  stream: z.string(),
  seq: z.number().int().positive(),
  /** The subject the message was published on. */
  subject: z.string(),
  /** The original payload: UTF-8 text, or base64 when it is not valid UTF-8. */
  payload: z.string(),
  payloadEncoding: z.enum(["utf8", "base64"]),
  /** The original NATS headers. */
  headers: z.record(z.string(), z.array(z.string())),
  reason: z.enum(["schema", "max_deliveries"]),
  error: z.object({ name: z.string(), message: z.string() }),
  deliveryCount: z.number().int().positive(),
  /** Integer UTC ms when it was dead-lettered. */
  deadLetteredAt: z.number().int(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;

export const DEAD_LETTER_TYPE = "dlq.dead_letter";
