import { MeshgateError } from '../errors.js';
import * as z from '../zod.js';

/** An operator's command could not be parsed; the message names every bad field and the value it had. */
export class CommandError extends MeshgateError {
  constructor(
    message: string,
    /** Each bad field with its value, for callers that name fields their own way (the CLI names flags). */
    readonly issues: readonly CommandIssue[] = [],
  ) {
    super(message, { context: { issues } });
  }
}

// Every member is strict: an unknown field is refused rather than ignored, so a typo (`consumr`) or a payload meant
// for another command (`{"action":"sync","to":"previous"}`, which is not a rollback) never runs something else.

const by = z._default(z.string().check(z.minLength(1), z.maxLength(256)), 'operator');

/** `meshgate sync [--dry-run]` (and `plan --remote`): reconcile Kong with the mesh now; also meshSync's direct invoke. */
export const SyncCommandSchema = z.strictObject({
  action: z.literal('sync'),
  dryRun: z._default(z.boolean(), false),
  reason: z.optional(z.string().check(z.maxLength(256))),
});

/** `meshgate rollback sync --to previous|ID [--no-freeze]`. */
export const RollbackSyncCommandSchema = z.strictObject({
  action: z.literal('rollback-sync'),
  to: z
    .string({ error: "expected 'previous' or a snapshot id" })
    .check(z.regex(/^(previous|\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6})$/, "expected 'previous' or a snapshot id")),
  freeze: z._default(z.boolean(), true),
  by,
});

/** `meshgate rollback key --consumer NAME`. */
export const RollbackKeyCommandSchema = z.strictObject({
  action: z.literal('rollback-key'),
  consumer: z
    .string({ error: 'expected a consumer name' })
    .check(z.minLength(1, 'expected a consumer name'), z.maxLength(256)),
  by,
});

/** `meshgate freeze --reason TEXT`. */
export const FreezeCommandSchema = z.strictObject({
  action: z.literal('freeze'),
  reason: z.string({ error: 'expected a reason' }).check(z.minLength(1, 'expected a reason'), z.maxLength(512)),
  by,
});

/** `meshgate resume`. */
export const ResumeCommandSchema = z.strictObject({ action: z.literal('resume'), by });

/** `meshgate status` (read-only). */
export const StatusCommandSchema = z.strictObject({ action: z.literal('status') });

/** `meshgate snapshots list` (read-only). */
export const SnapshotsListCommandSchema = z.strictObject({ action: z.literal('snapshots-list') });

/** `meshgate doctor --remote` (read-only): the function reaches the Admin API and reports Kong's version and mode. */
export const PingCommandSchema = z.strictObject({ action: z.literal('ping') });

const MEMBERS = [
  SyncCommandSchema,
  RollbackSyncCommandSchema,
  RollbackKeyCommandSchema,
  FreezeCommandSchema,
  ResumeCommandSchema,
  StatusCommandSchema,
  SnapshotsListCommandSchema,
  PingCommandSchema,
] as const;

/** Every `action`, for error messages and the CLI's usage. */
export const OPERATOR_ACTIONS = MEMBERS.map((member) => member.shape.action._zod.def.values[0]);

/**
 * The operator's commands: one JSON shape for the CLI (local), the CLI's `--remote` (the same JSON sent to the
 * deployed rollback function) and the rollback function itself (`serverless invoke -f rollback --data …`, the
 * console). `action` is the CLI's words joined by a dash: `meshgate rollback key` is `rollback-key`.
 */
export const OperatorCommandSchema = z.discriminatedUnion('action', MEMBERS, {
  error: `expected action ${OPERATOR_ACTIONS.map((action) => `'${action}'`).join(', ')}`,
});

export type OperatorCommand = z.infer<typeof OperatorCommandSchema>;
export type OperatorAction = OperatorCommand['action'];
export type CommandOf<A extends OperatorAction> = Extract<OperatorCommand, { action: A }>;

/** One bad field: where, what is wrong, and the value it had (undefined when missing). */
export interface CommandIssue {
  field: string;
  message: string;
  value?: unknown;
  missing: boolean;
}

/** The issues of a failed parse, each with the field's path and the value found there. */
export function commandIssues(raw: unknown, error: z.$ZodError): CommandIssue[] {
  return error.issues.flatMap((issue): CommandIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      const parent = valueAt(raw, issue.path);
      return issue.keys.map((key) => ({
        field: [...issue.path, key].join('.'),
        message: 'not a field of this action',
        value: valueAt(parent, [key]),
        missing: false,
      }));
    }
    const value = valueAt(raw, issue.path);
    return [{ field: issue.path.join('.') || 'payload', message: issue.message, value, missing: value === undefined }];
  });
}

/** `field: problem (got value)` or `field: problem (missing)`, joined; `name` renders a field (the CLI: `--to`). */
export function describeIssues(issues: readonly CommandIssue[], name: (field: string) => string = (f) => f): string {
  return issues
    .map(
      (issue) =>
        `${name(issue.field)}: ${issue.message} (${issue.missing ? 'missing' : `got ${JSON.stringify(issue.value)}`})`,
    )
    .join('; ');
}

/**
 * Parses an operator's command (defaults filled) or throws a CommandError whose message names each bad field and
 * its value; `context.issues` carries them for callers that render fields their own way.
 */
export function parseCommand(raw: unknown): OperatorCommand {
  const parsed = OperatorCommandSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issues = commandIssues(raw, parsed.error);
  throw new CommandError(`invalid operator command: ${describeIssues(issues)}`, issues);
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (node, key) => (node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined),
    raw,
  );
}
