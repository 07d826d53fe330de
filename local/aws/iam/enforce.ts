/**
 * IAM enforcement for the AWS double: who signed a request (from the access key in `Authorization`), and whether
 * that role may make the call, evaluated as AWS does (see policy.ts) on the resources the Service Authorization
 * Reference names for the action (see actions.ts). Refusals carry AWS's error shape and message.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { assumedRoleArn, roleForAccessKey } from '../identity.js';
import { AwsServiceError, type AwsServiceModule, type IamCall } from '../protocol.js';
import { authorizedResources } from './actions.js';
import { type Decision, evaluate, type Statement } from './policy.js';
import type { Role } from './roles.js';

export type Caller =
  /** Static local keys (`meshgate-local`, `test`): the operator, an administrator of the account. */
  | { kind: 'operator' }
  | { kind: 'role'; role: Role; sessionName: string }
  /** A role key of a role the double does not know (not in serverless.yml). */
  | { kind: 'unknown'; accessKeyId: string };

export interface SimulationResult {
  action: string;
  resource: string;
  decision: 'allowed' | 'implicitDeny' | 'explicitDeny';
  statement?: Statement;
}

export class IamEnforcer {
  private readonly roles = new Map<string, Role>();
  /**
   * Role ARN → the actions its callers were allowed, in the order first seen: what the functions actually call,
   * for the test that holds meshgate's table of calls (shared/app/calls.ts) to it.
   */
  readonly allowed = new Map<string, Set<string>>();

  constructor(
    roles: readonly Role[],
    /** Off: every caller may do anything (the double before IAM; kept for tests of other behaviour only). */
    public enabled = true,
  ) {
    this.setRoles(roles);
  }

  setRoles(roles: readonly Role[]): void {
    this.roles.clear();
    for (const role of roles) this.roles.set(role.arn, structuredClone(role));
  }

  role(arn: string): Role | undefined {
    return this.roles.get(arn);
  }

  /** Replaces a role's statements (tests: a removed grant, an explicit Deny). */
  setStatements(arn: string, statements: Statement[]): void {
    const role = this.roles.get(arn);
    if (!role) throw new Error(`the AWS double knows no role ${arn}`);
    role.statements = structuredClone(statements);
  }

  callerOf(headers: IncomingHttpHeaders): Caller {
    const accessKeyId = /Credential=([^/,\s]+)\//.exec(String(headers.authorization ?? ''))?.[1];
    const bound = accessKeyId ? roleForAccessKey(accessKeyId) : undefined;
    if (!bound || !accessKeyId) return { kind: 'operator' };
    const role = this.roles.get(bound.roleArn);
    return role ? { kind: 'role', role, sessionName: bound.sessionName } : { kind: 'unknown', accessKeyId };
  }

  /** Throws the service's AccessDenied error unless `caller` may make `call`. */
  async check(caller: Caller, call: IamCall, protocol: AwsServiceModule['protocol']): Promise<void> {
    if (!this.enabled || caller.kind === 'operator') return;
    if (caller.kind === 'unknown') {
      throw protocol === 'rest-xml'
        ? new AwsServiceError(
            'InvalidAccessKeyId',
            'The AWS Access Key Id you provided does not exist in our records.',
            403,
          )
        : new AwsServiceError(
            'UnrecognizedClientException',
            'The security token included in the request is invalid.',
            403,
          );
    }
    for (const resource of await authorizedResources(call.action, call.resources)) {
      const decision = evaluate(caller.role.statements, { action: call.action, resource });
      if (decision.effect !== 'allow') throw accessDenied(caller, call.action, resource, decision, protocol);
    }
    const actions = this.allowed.get(caller.role.arn) ?? new Set<string>();
    this.allowed.set(caller.role.arn, actions.add(call.action));
  }

  /** `iam:SimulatePrincipalPolicy` with the same evaluation: each action on each resource (default `*`). */
  async simulate(roleArn: string, actions: string[], resources: string[] = []): Promise<SimulationResult[]> {
    const role = this.roles.get(roleArn);
    if (!role)
      throw new AwsServiceError(
        'NoSuchEntity',
        `The role with name ${roleArn.split('/').at(-1)} cannot be found.`,
        404,
      );
    const results: SimulationResult[] = [];
    for (const action of actions) {
      const checked = resources.length > 0 ? await authorizedResources(action, resources) : ['*'];
      for (const resource of checked) {
        const decision = evaluate(role.statements, { action, resource });
        results.push({
          action,
          resource,
          decision: decision.effect === 'allow' ? 'allowed' : decision.effect,
          ...('statement' in decision ? { statement: decision.statement } : {}),
        });
      }
    }
    return results;
  }
}

/** AWS's refusal: `User: <assumed role> is not authorized to perform: <action> [on resource: <arn>] because …`. */
function accessDenied(
  caller: Extract<Caller, { kind: 'role' }>,
  action: string,
  resource: string,
  decision: Exclude<Decision, { effect: 'allow' }>,
  protocol: AwsServiceModule['protocol'],
): AwsServiceError {
  const user = assumedRoleArn(caller.role.arn, caller.sessionName);
  const reason =
    decision.effect === 'explicitDeny'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${action} action`;
  if (protocol === 'query') {
    // IAM (awsQuery): AccessDenied, 403, the resource unquoted.
    return new AwsServiceError(
      'AccessDenied',
      `User: ${user} is not authorized to perform: ${action} on resource: ${resource} ${reason}`,
      403,
    );
  }
  if (protocol === 'rest-xml') {
    return new AwsServiceError(
      'AccessDenied',
      `User: ${user} is not authorized to perform: ${action} on resource: "${resource}" ${reason}`,
      403,
    );
  }
  const on = resource === '*' ? '' : ` on resource: ${resource}`;
  // JSON 1.1 services answer 400, REST-JSON ones 403, both with AccessDeniedException.
  return new AwsServiceError(
    'AccessDeniedException',
    `User: ${user} is not authorized to perform: ${action}${on} ${reason}`,
    protocol === 'json' ? 400 : 403,
  );
}
