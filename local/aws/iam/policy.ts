/**
 * IAM identity-policy evaluation as AWS documents it for one account without boundaries, SCPs or session policies:
 * an explicit Deny wins, else an Allow is needed, else the call is implicitly denied. Actions match
 * case-insensitively, resources case-sensitively; `*` and `?` are wildcards in both. Pure: statements and a request
 * in, a decision out.
 */
import { z } from 'zod';

const stringOrList = z.union([z.string(), z.array(z.string()).min(1)]);

export const statementSchema = z
  .object({
    Sid: z.string().optional(),
    Effect: z.enum(['Allow', 'Deny']),
    Action: stringOrList.optional(),
    NotAction: stringOrList.optional(),
    Resource: stringOrList.optional(),
    NotResource: stringOrList.optional(),
  })
  // Conditions are refused rather than ignored: ignoring one would allow what AWS denies.
  .strict()
  .refine((s) => (s.Action === undefined) !== (s.NotAction === undefined), 'exactly one of Action and NotAction')
  .refine(
    (s) => (s.Resource === undefined) !== (s.NotResource === undefined),
    'exactly one of Resource and NotResource',
  );

export type Statement = z.infer<typeof statementSchema>;

export const policyDocumentSchema = z.object({
  Version: z.literal('2012-10-17'),
  Statement: z.union([statementSchema, z.array(statementSchema)]),
});

export interface AuthorizationRequest {
  /** `service:Action`, e.g. `servicediscovery:GetService`. */
  action: string;
  /** The resource ARN the action is authorized on, or `*` for actions without resource-level permissions. */
  resource: string;
}

export type Decision =
  | { effect: 'allow'; statement: Statement }
  | { effect: 'explicitDeny'; statement: Statement }
  | { effect: 'implicitDeny' };

export function evaluate(statements: readonly Statement[], request: AuthorizationRequest): Decision {
  const applicable = statements.filter((statement) => applies(statement, request));
  const deny = applicable.find((statement) => statement.Effect === 'Deny');
  if (deny) return { effect: 'explicitDeny', statement: deny };
  const allow = applicable.find((statement) => statement.Effect === 'Allow');
  return allow ? { effect: 'allow', statement: allow } : { effect: 'implicitDeny' };
}

function applies(statement: Statement, request: AuthorizationRequest): boolean {
  const actionMatches = (pattern: string) => wildcardMatch(pattern.toLowerCase(), request.action.toLowerCase());
  const resourceMatches = (pattern: string) => wildcardMatch(pattern, request.resource);
  const action = statement.Action
    ? asList(statement.Action).some(actionMatches)
    : !asList(statement.NotAction ?? []).some(actionMatches);
  const resource = statement.Resource
    ? asList(statement.Resource).some(resourceMatches)
    : !asList(statement.NotResource ?? []).some(resourceMatches);
  return action && resource;
}

/** IAM's glob: `*` any run of characters (also across `/` and `:`), `?` one character. */
export function wildcardMatch(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    's',
  );
  return regex.test(value);
}

const asList = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);
