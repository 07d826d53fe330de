/**
 * The IAM role behind a function URL caller (`requestContext.authorizer.iam.userArn`). Pure.
 * - `arn:aws:sts::<account>:assumed-role/<role name>/<session>` → that role;
 * - `arn:aws:iam::<account>:role[/<path>]/<role name>` → that role;
 * - anything else (IAM users, root, federated users) is not a role.
 * Role names are unique within an account whatever their path, and an assumed-role ARN carries no path, so a role
 * is identified by account and name.
 */
export interface CallerRole {
  account: string;
  roleName: string;
}

export type CallerVerdict =
  | { ok: true; role: CallerRole }
  | { ok: false; reason: 'not-a-role' | 'foreign-account'; detail: string };

const ASSUMED_ROLE = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/[^/]+$/;
const ROLE = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,64})$/;

export function roleOf(arn: string): CallerRole | undefined {
  const found = ASSUMED_ROLE.exec(arn) ?? ROLE.exec(arn);
  return found ? { account: found[1] as string, roleName: found[2] as string } : undefined;
}

/** Only roles of the function's own account get tokens: a consumer's role is always one of ours. */
export function callerVerdict(userArn: string | undefined, ownAccount: string): CallerVerdict {
  const role = userArn ? roleOf(userArn) : undefined;
  if (!role) return { ok: false, reason: 'not-a-role', detail: `caller '${userArn ?? ''}' is not an IAM role` };
  if (role.account !== ownAccount) {
    return {
      ok: false,
      reason: 'foreign-account',
      detail: `role of account ${role.account} is not of account ${ownAccount}`,
    };
  }
  return { ok: true, role };
}

/** Whether a consumer's `custom_id` (a role ARN) names this role. */
export function sameRole(customId: string | undefined, role: CallerRole): boolean {
  const other = customId ? roleOf(customId) : undefined;
  return other !== undefined && other.account === role.account && other.roleName === role.roleName;
}
