import { describe, expect, it } from 'vitest';
import { IamEnforcer } from '../../local/aws/iam/enforce.js';
import { loadRoles } from '../../local/aws/iam/roles.js';
import { callsOf, FUNCTION_CALLS, type MeshgateFunction } from '../../shared/app/calls.js';

// The table of each function's AWS calls (what `meshgate doctor` simulates) and serverless.yml's roles must say the
// same thing: every call granted, and no grant the table does not know of.
const account = '123456789012';
const region = 'us-east-1';
const roles = loadRoles({ stage: 'ci', account, region });
const enforcer = new IamEnforcer(roles.roles);
const functions = Object.keys(FUNCTION_CALLS) as MeshgateFunction[];

/** A deployed function's environment with every optional feature on, so every call of the table is checked. */
const env = {
  MESH_NAMES: 'shop',
  SNAPSHOT_BUCKET: 'meshgate-ci-snapshotbucket',
  KONG_ADMIN_TOKEN_SECRET_ARN: `arn:aws:secretsmanager:${region}:${account}:secret:meshgate/kong-admin-token-AbCdEf`,
  AUDIT_BUS_NAME: 'meshgate-audit-ci',
  CONSUMER_SECRET_PREFIX: 'meshgate/consumers/',
};

describe('each function calls what its role grants, and its role grants only what it calls', () => {
  it('names every function serverless.yml deploys', () => {
    expect(functions.sort()).toEqual(Object.keys(roles.functionRoles).sort());
  });

  for (const fn of functions) {
    it(`${fn}: the role allows each call of the table`, async () => {
      const calls = callsOf(fn, {
        partition: 'aws',
        region,
        account,
        stage: 'ci',
        functionName: `meshgate-ci-${fn}`,
        env,
      });
      const denied = [];
      for (const call of calls) {
        const results = await enforcer.simulate(
          roles.functionRoles[fn]!,
          [call.action],
          call.resource === '*' ? [] : [call.resource],
        );
        denied.push(...results.filter((result) => result.decision !== 'allowed'));
      }
      expect(denied).toEqual([]);
    });

    it(`${fn}: the role grants no action the table does not list`, () => {
      const role = roles.roles.find((candidate) => candidate.arn === roles.functionRoles[fn]);
      const granted = new Set(
        (role?.statements ?? [])
          .filter((statement) => statement.Effect === 'Allow')
          .flatMap((statement) => [statement.Action ?? []].flat()),
      );
      const listed = new Set(FUNCTION_CALLS[fn].map((call) => call.action));
      expect([...granted].filter((action) => !listed.has(action)).sort()).toEqual([]);
      expect([...listed].filter((action) => !granted.has(action)).sort()).toEqual([]);
    });
  }

  it('a removed grant shows: the table call is then denied', async () => {
    const arn = roles.functionRoles.meshSync!;
    const stripped = new IamEnforcer(roles.roles);
    stripped.setStatements(
      arn,
      stripped.role(arn)!.statements.filter((statement) => statement.Sid !== 'ListCloudMapAccountWide'),
    );
    const [result] = await stripped.simulate(arn, ['servicediscovery:ListTagsForResource']);
    expect(result?.decision).toBe('implicitDeny');
  });
});
