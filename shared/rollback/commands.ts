import * as z from '../zod.js';

/** The rollback function's payloads (`serverless invoke -f rollback --data …`, the console, `meshgate … --remote`). */
export const RollbackCommandSchema = z.discriminatedUnion(
  'action',
  [
    z.object({
      action: z.literal('sync'),
      to: z
        .string()
        .check(z.regex(/^(previous|\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6})$/, "expected 'previous' or a snapshot id")),
      freeze: z._default(z.boolean(), true),
      by: z._default(z.string().check(z.minLength(1)), 'rollback'),
    }),
    z.object({
      action: z.literal('key'),
      consumer: z.string().check(z.minLength(1)),
      by: z._default(z.string().check(z.minLength(1)), 'rollback'),
    }),
    z.object({
      action: z.literal('freeze'),
      reason: z.string().check(z.minLength(1)).check(z.maxLength(512)),
      by: z._default(z.string().check(z.minLength(1)), 'rollback'),
    }),
    z.object({ action: z.literal('resume'), by: z._default(z.string().check(z.minLength(1)), 'rollback') }),
    // Read-only, for `meshgate status --remote` and `meshgate snapshots list --remote`.
    z.object({ action: z.literal('status') }),
    z.object({ action: z.literal('snapshots') }),
    // Read-only, for `meshgate doctor --remote`: the Admin API as the function reaches it.
    z.object({ action: z.literal('ping') }),
  ],
  { error: "expected action 'sync', 'key', 'freeze', 'resume', 'status', 'snapshots' or 'ping'" },
);

export type RollbackCommand = z.infer<typeof RollbackCommandSchema>;

/** `field: problem (got value)` for each issue, so an operator sees what to fix. */
export function describeCommandIssues(raw: unknown, error: z.$ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.join('.') || 'payload';
      const value = issue.path.reduce<unknown>(
        (node, key) => (node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined),
        raw,
      );
      return `${field}: ${issue.message}${value === undefined ? '' : ` (got ${JSON.stringify(value)})`}`;
    })
    .join('; ');
}
