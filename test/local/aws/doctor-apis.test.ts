import {
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import { DeleteRuleCommand, EventBridgeClient, ListRulesCommand, PutRuleCommand } from '@aws-sdk/client-eventbridge';
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { credentialsForRole } from '../../../local/aws/identity.js';
import { type AwsDouble, startAwsDouble } from '../../../local/aws/server.js';

// The AWS APIs `meshgate doctor` calls, served by the double and driven with the real SDK clients.
let double: AwsDouble;
const operator = { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' };
const settings = (credentials: { accessKeyId: string; secretAccessKey: string } = operator) => ({
  endpoint: double.url,
  region: double.region,
  credentials,
  maxAttempts: 1,
});

beforeAll(async () => {
  double = await startAwsDouble();
});
afterAll(async () => {
  await double.close();
});
beforeEach(() => double.reset());

describe('CloudTrail', () => {
  const cloudTrail = () => new CloudTrailClient(settings());

  async function bucket(name: string) {
    await new S3Client({ ...settings(), forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: name }));
  }

  it('a new trail does not log until StartLogging, logs all management events by default, and StopLogging stops it', async () => {
    await bucket('trail-bucket');
    const created = await cloudTrail().send(
      new CreateTrailCommand({ Name: 'org-trail', S3BucketName: 'trail-bucket', IsMultiRegionTrail: true }),
    );
    expect(created.TrailARN).toBe(`arn:aws:cloudtrail:${double.region}:${double.account}:trail/org-trail`);

    const { trailList } = await cloudTrail().send(new DescribeTrailsCommand({}));
    expect(trailList).toMatchObject([
      { Name: 'org-trail', HomeRegion: double.region, IsMultiRegionTrail: true, HasCustomEventSelectors: false },
    ]);
    expect((await cloudTrail().send(new GetTrailStatusCommand({ Name: 'org-trail' }))).IsLogging).toBe(false);

    await cloudTrail().send(new StartLoggingCommand({ Name: 'org-trail' }));
    const status = await cloudTrail().send(new GetTrailStatusCommand({ Name: created.TrailARN }));
    expect(status.IsLogging).toBe(true);
    expect(status.StartLoggingTime).toBeInstanceOf(Date);

    const selectors = await cloudTrail().send(new GetEventSelectorsCommand({ TrailName: 'org-trail' }));
    expect(selectors.EventSelectors).toEqual([
      { ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] },
    ]);

    await cloudTrail().send(new StopLoggingCommand({ Name: 'org-trail' }));
    expect((await cloudTrail().send(new GetTrailStatusCommand({ Name: 'org-trail' }))).IsLogging).toBe(false);
  });

  it('refuses a trail whose bucket does not exist, a second trail of the same name, and names it does not know', async () => {
    await expect(
      cloudTrail().send(new CreateTrailCommand({ Name: 'trail', S3BucketName: 'no-such-bucket' })),
    ).rejects.toMatchObject({ name: 'S3BucketDoesNotExistException' });
    await bucket('b1');
    await cloudTrail().send(new CreateTrailCommand({ Name: 'trail', S3BucketName: 'b1' }));
    await expect(
      cloudTrail().send(new CreateTrailCommand({ Name: 'trail', S3BucketName: 'b1' })),
    ).rejects.toMatchObject({ name: 'TrailAlreadyExistsException' });
    await expect(cloudTrail().send(new GetTrailStatusCommand({ Name: 'other' }))).rejects.toMatchObject({
      name: 'TrailNotFoundException',
    });
    await cloudTrail().send(new DeleteTrailCommand({ Name: 'trail' }));
    expect((await cloudTrail().send(new DescribeTrailsCommand({}))).trailList).toEqual([]);
  });

  it('PutEventSelectors takes basic or advanced selectors, never both', async () => {
    await bucket('b2');
    await cloudTrail().send(new CreateTrailCommand({ Name: 'reads', S3BucketName: 'b2' }));
    await expect(
      cloudTrail().send(
        new PutEventSelectorsCommand({
          TrailName: 'reads',
          EventSelectors: [{ ReadWriteType: 'ReadOnly' }],
          AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterCombinationException' });
    await cloudTrail().send(
      new PutEventSelectorsCommand({ TrailName: 'reads', EventSelectors: [{ ReadWriteType: 'ReadOnly' }] }),
    );
    const selectors = await cloudTrail().send(new GetEventSelectorsCommand({ TrailName: 'reads' }));
    expect(selectors.EventSelectors?.[0]).toMatchObject({ ReadWriteType: 'ReadOnly', IncludeManagementEvents: true });
    const { trailList } = await cloudTrail().send(new DescribeTrailsCommand({ trailNameList: ['reads'] }));
    expect(trailList?.[0]?.HasCustomEventSelectors).toBe(true);
  });

  it('is authorized per trail: a function role without CloudTrail grants is refused', async () => {
    const asMeshSync = new CloudTrailClient(settings(credentialsForRole(double.functionRoles.meshSync!)));
    await expect(asMeshSync.send(new DescribeTrailsCommand({}))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('cloudtrail:DescribeTrails'),
    });
  });
});

describe('EventBridge rules', () => {
  const events = () => new EventBridgeClient(settings());

  it('PutRule, ListRules by prefix in name order with pages, DeleteRule (also of a rule that is gone)', async () => {
    for (const name of ['meshgate-dev-b', 'meshgate-dev-a', 'other-rule']) {
      await events().send(new PutRuleCommand({ Name: name, ScheduleExpression: 'rate(5 minutes)' }));
    }
    const first = await events().send(new ListRulesCommand({ NamePrefix: 'meshgate-dev-', Limit: 1 }));
    expect(first.Rules?.map((rule) => [rule.Name, rule.State, rule.Arn])).toEqual([
      ['meshgate-dev-a', 'ENABLED', `arn:aws:events:${double.region}:${double.account}:rule/meshgate-dev-a`],
    ]);
    const second = await events().send(
      new ListRulesCommand({ NamePrefix: 'meshgate-dev-', Limit: 1, NextToken: first.NextToken }),
    );
    expect(second.Rules?.map((rule) => rule.Name)).toEqual(['meshgate-dev-b']);
    expect(second.NextToken).toBeUndefined();

    await events().send(new DeleteRuleCommand({ Name: 'meshgate-dev-a' }));
    await events().send(new DeleteRuleCommand({ Name: 'meshgate-dev-a' }));
    const left = await events().send(new ListRulesCommand({ NamePrefix: 'meshgate-dev-' }));
    expect(left.Rules?.map((rule) => rule.Name)).toEqual(['meshgate-dev-b']);
  });

  it('refuses a rule with neither pattern nor schedule, and a pattern that is not JSON', async () => {
    await expect(events().send(new PutRuleCommand({ Name: 'empty' }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(events().send(new PutRuleCommand({ Name: 'bad', EventPattern: '{' }))).rejects.toMatchObject({
      name: 'InvalidEventPatternException',
    });
  });
});

describe('IAM SimulatePrincipalPolicy (awsQuery, XML)', () => {
  const iam = () => new IAMClient(settings());

  it("evaluates a role from serverless.yml with the enforcer's evaluator: allowed, implicitDeny, explicitDeny", async () => {
    // rotateKeys reads consumer keys; it never deletes a secret.
    const role = double.functionRoles.rotateKeys!;
    const secret = `arn:aws:secretsmanager:${double.region}:${double.account}:secret:meshgate/consumers/alice-AbCdEf`;
    const simulated = await iam().send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: role,
        ActionNames: ['secretsmanager:GetSecretValue', 'secretsmanager:DeleteSecret'],
        ResourceArns: [secret],
      }),
    );
    expect(simulated.IsTruncated).toBe(false);
    expect(simulated.EvaluationResults?.map((r) => [r.EvalActionName, r.EvalResourceName, r.EvalDecision])).toEqual([
      ['secretsmanager:GetSecretValue', secret, 'allowed'],
      ['secretsmanager:DeleteSecret', secret, 'implicitDeny'],
    ]);

    double.iam.setStatements(role, [
      ...double.iam.role(role)!.statements,
      { Effect: 'Deny', Action: 'secretsmanager:GetSecretValue', Resource: '*' },
    ]);
    const denied = await iam().send(
      new SimulatePrincipalPolicyCommand({ PolicySourceArn: role, ActionNames: ['secretsmanager:GetSecretValue'] }),
    );
    expect(denied.EvaluationResults?.[0]?.EvalDecision).toBe('explicitDeny');
  });

  it('answers NoSuchEntity for a role it does not know and AccessDenied to a role without the grant', async () => {
    await expect(
      iam().send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: `arn:aws:iam::${double.account}:role/nobody`,
          ActionNames: ['s3:GetObject'],
        }),
      ),
    ).rejects.toMatchObject({ name: 'NoSuchEntityException', $metadata: { httpStatusCode: 404 } });
    const asRollback = new IAMClient(settings(credentialsForRole(double.functionRoles.rollback!)));
    await expect(
      asRollback.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: double.functionRoles.meshSync!,
          ActionNames: ['s3:GetObject'],
        }),
      ),
      // IAM's own code (awsQuery): AccessDenied, not AccessDeniedException.
    ).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  });
});

describe('Lambda GetFunctionConfiguration', () => {
  it('reports a registered function role and environment; an unknown one is ResourceNotFoundException', async () => {
    double.registerFunction('meshgate-local-rollback', async () => ({}), {
      role: double.functionRoles.rollback!,
      environment: { MESHGATE_STAGE: 'local' },
    });
    const lambda = new LambdaClient(settings());
    const found = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'meshgate-local-rollback' }));
    expect(found).toMatchObject({
      FunctionName: 'meshgate-local-rollback',
      FunctionArn: `arn:aws:lambda:${double.region}:${double.account}:function:meshgate-local-rollback`,
      Role: double.functionRoles.rollback,
      Environment: { Variables: { MESHGATE_STAGE: 'local' } },
    });
    await expect(
      lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'meshgate-local-nothing' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
