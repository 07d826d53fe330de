import {
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import { DeleteRuleCommand, EventBridgeClient, PutRuleCommand } from '@aws-sdk/client-eventbridge';
import { CreateHttpNamespaceCommand, ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { DemoMesh } from '../../local/demo/mesh.js';
import { LOCAL_TRAIL, type LocalStack, startLocalStack } from '../../local/stack.js';
import { FUNCTION_CALLS, type MeshgateFunction } from '../../shared/app/calls.js';
import { createAwsClients } from '../../shared/aws/clients.js';

// `meshgate doctor` against the whole local stack: the trail it creates, the rules serverless.yml declares, the
// roles the AWS double enforces, the admin token in Secrets Manager and the Kong double behind the rollback function.
let stack: LocalStack;
const operator = { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' };
const client = <T>(Client: new (config: object) => T) =>
  new Client({ endpoint: stack.aws.url, region: stack.aws.region, credentials: operator, disableHostPrefix: true });

async function doctor(...argv: string[]): Promise<{ code: number; lines: string[]; err: string }> {
  return meshgate('doctor', ...argv);
}

async function meshgate(...argv: string[]): Promise<{ code: number; lines: string[]; err: string }> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    process.exitCode = undefined;
    const code = await main(argv, stack.env);
    return { code, lines: out.trim().split('\n'), err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = undefined;
  }
}

const line = (lines: string[], name: string) => lines.find((text) => text.slice(2).startsWith(`${name}:`)) ?? '';

beforeAll(async () => {
  stack = await startLocalStack({ logLevel: 'SILENT', adminToken: 'doctor-admin-token' });
});

afterAll(async () => {
  await stack?.close();
});

describe('meshgate doctor on the local stack', () => {
  it('passes every check, one line each, and exits 0', async () => {
    const result = await doctor();
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.lines.map((text) => text.slice(0, 1))).toEqual(Array(8).fill('✓'));
    expect(line(result.lines, 'trail')).toBe(
      `✓ trail: ${LOCAL_TRAIL} logs management events in us-east-1 (multi-region)`,
    );
    expect(line(result.lines, 'rules')).toContain('meshgate-local-meshSync-rule-1');
    expect(line(result.lines, 'rules')).toContain('meshgate-local-rotate-due-keys');
    for (const fn of ['meshSync', 'rotateKeys', 'rollback', 'issueToken']) {
      expect(line(result.lines, `role ${fn}`)).toMatch(/^✓ .* can make each of its \d+ calls$/);
    }
    expect(line(result.lines, 'admin token')).toContain('meshgate/kong-admin-token has a current version');
    expect(line(result.lines, 'Admin API')).toMatch(
      new RegExp(`^✓ Admin API: ${stack.kong.url} reachable from here .*: Kong 3\\.\\d+\\.\\d+, database postgres$`),
    );
  });

  it('--remote reaches the Admin API from the rollback function (its network, its role, its token)', async () => {
    const result = await doctor('--remote');
    expect(result.code).toBe(0);
    expect(line(result.lines, 'Admin API')).toMatch(
      /^✓ Admin API: .* reachable from the rollback function: Kong 3\.\d+\.\d+, database postgres$/,
    );
  });

  it('a removed grant is a ✗ naming the call and the role to fix, and exits 1', async () => {
    const arn = stack.aws.functionRoles.meshSync!;
    const granted = stack.aws.iam.role(arn)!.statements;
    // The grant round one fixed: ListTagsForResource has no resource-level permissions.
    stack.aws.iam.setStatements(
      arn,
      granted.filter((statement) => statement.Sid !== 'ListCloudMapAccountWide'),
    );
    try {
      const result = await doctor();
      expect(result.code).toBe(1);
      expect(line(result.lines, 'role meshSync')).toMatch(
        /^✗ role meshSync: meshgate-local-MeshSyncRole cannot make 3 of its \d+ calls: servicediscovery:ListNamespaces on \* \(implicitDeny\); servicediscovery:ListServices on \* \(implicitDeny\); servicediscovery:ListTagsForResource on \* \(implicitDeny\) — fix: grant them in serverless\.yml \(MeshSyncRole\) and npx serverless deploy --stage local$/,
      );
      expect(line(result.lines, 'role rollback').startsWith('✓')).toBe(true);
    } finally {
      stack.aws.iam.setStatements(arn, granted);
    }
  });

  it('a stopped trail, then a missing one, are ✗ with the command that fixes each', async () => {
    const cloudTrail = client(CloudTrailClient);
    await cloudTrail.send(new StopLoggingCommand({ Name: LOCAL_TRAIL }));
    // As on AWS: while no trail records it, a mesh write reaches no rule.
    const published = stack.aws.cloudTrail.length;
    const cloudMap = client(ServiceDiscoveryClient);
    await cloudMap.send(new CreateHttpNamespaceCommand({ Name: 'unheard.local' }));
    expect(stack.aws.cloudTrail.length).toBe(published);
    const stopped = await doctor();
    expect(stopped.code).toBe(1);
    expect(line(stopped.lines, 'trail')).toBe(
      `✗ trail: ${LOCAL_TRAIL} covers us-east-1 but is not logging: meshgate's rules get no events — fix: aws cloudtrail start-logging --name arn:aws:cloudtrail:us-east-1:${stack.aws.account}:trail/${LOCAL_TRAIL}`,
    );

    await cloudTrail.send(new DeleteTrailCommand({ Name: LOCAL_TRAIL }));
    const missing = await doctor();
    expect(missing.code).toBe(1);
    expect(line(missing.lines, 'trail')).toMatch(
      /^✗ trail: no trail logs management events in us-east-1: .* — fix: aws cloudtrail create-trail --name meshgate-trail --s3-bucket-name BUCKET --is-multi-region-trail && aws cloudtrail start-logging --name meshgate-trail/,
    );
    // Everything else still passes: one ✗, one line.
    expect(missing.lines.filter((text) => text.startsWith('✗'))).toHaveLength(1);

    await cloudTrail.send(
      new CreateTrailCommand({ Name: LOCAL_TRAIL, S3BucketName: LOCAL_TRAIL, IsMultiRegionTrail: true }),
    );
    await cloudTrail.send(new StartLoggingCommand({ Name: LOCAL_TRAIL }));
    expect((await doctor()).code).toBe(0);
    await cloudMap.send(new CreateHttpNamespaceCommand({ Name: 'heard.local' }));
    expect(stack.aws.cloudTrail.at(-1)?.detail).toMatchObject({ eventName: 'CreateHttpNamespace' });
  });

  it('a missing rule is a ✗ naming it', async () => {
    const events = client(EventBridgeClient);
    await events.send(new DeleteRuleCommand({ Name: 'meshgate-local-drift-repair' }));
    try {
      const result = await doctor();
      expect(result.code).toBe(1);
      expect(line(result.lines, 'rules')).toBe(
        "✗ rules: missing meshgate-local-drift-repair — fix: npx serverless deploy --stage local (the rules are part of meshgate's stack)",
      );
    } finally {
      await events.send(
        new PutRuleCommand({ Name: 'meshgate-local-drift-repair', ScheduleExpression: 'rate(5 minutes)' }),
      );
    }
  });
});

describe("doctor's table of calls", () => {
  it('holds every call the functions make in the local stack (sync, rotation, remote operator commands)', async () => {
    stack.aws.iam.allowed.clear();
    const mesh = new DemoMesh(createAwsClients(stack.env));
    await mesh.createGatewayDiscovery([{ id: 'gw-1', ipv4: '10.0.0.1' }]);
    await mesh.createMesh([{ name: 'orders' }]);
    await stack.bus.idle();
    for (const argv of [
      ['consumer', 'add', 'alice'],
      ['rotate', '--consumer', 'alice'],
      ['status', '--remote'],
      ['freeze', '--remote', '--reason', 'doctor test'],
      ['resume', '--remote'],
      ['rollback', 'key', '--consumer', 'alice', '--remote'],
    ]) {
      expect((await meshgate(...argv)).code, argv.join(' ')).toBe(0);
    }
    await stack.bus.idle();

    for (const fn of ['meshSync', 'rotateKeys', 'rollback'] as MeshgateFunction[]) {
      const made = [...(stack.aws.iam.allowed.get(stack.aws.functionRoles[fn]!) ?? [])];
      const listed = new Set(FUNCTION_CALLS[fn].map((call) => call.action));
      expect(made.length, fn).toBeGreaterThan(0);
      expect(
        made.filter((action) => !listed.has(action)),
        fn,
      ).toEqual([]);
    }
  });
});
