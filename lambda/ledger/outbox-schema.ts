import * as z from '../shared/zod.js';

/**
 * The stored form of an outbox action (issue 13, LedgerEntry.outbox): checked on every read, since the
 * item may have been written by another version. The create request is kept as the JSON it was sent
 * as; it was checked against the Datadog schema when the rule made it.
 */
export const outboxSchema = z.lazily(() => {
  const Ms = z.number().check(z.int(), z.nonnegative());
  const action = z.object({
    id: z.string().check(z.minLength(1)),
    kind: z.enum(['create', 'comment', 'status', 'link']),
    createdAt: Ms,
    claimedBy: z.optional(z.string()),
    sentAt: z.optional(Ms),
    guard: z.optional(z.boolean()),
    suspectAt: z.optional(Ms),
    tries: z.optional(Ms),
    notBefore: z.optional(Ms),
    slotAt: z.optional(Ms),
    request: z.optional(z.record(z.string(), z.unknown())),
    text: z.optional(z.string()),
    status: z.optional(z.string()),
    linkTo: z.optional(z.string()),
    purpose: z.optional(z.enum(['comment', 'close', 'reopen'])),
    caseId: z.optional(z.string()),
    rule: z.optional(z.string()),
    deliveryId: z.optional(z.string()),
    journalId: z.optional(z.string()),
  });
  return z.array(action);
});
