import { randomUUID } from 'node:crypto';
import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsDouble, startAwsDouble } from '../../../local/aws/server.js';

let double: AwsDouble;
let sm: SecretsManagerClient;

beforeAll(async () => {
  double = await startAwsDouble();
  sm = new SecretsManagerClient({
    endpoint: double.url,
    region: double.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  sm.destroy();
  await double.close();
});
beforeEach(() => double.reset());

async function stages(secretId: string): Promise<Record<string, string[]>> {
  return (await sm.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages ?? {};
}

async function newSecret(name = 'app/key', value = 'v1'): Promise<{ arn: string; v1: string }> {
  const v1 = randomUUID();
  const created = await sm.send(new CreateSecretCommand({ Name: name, SecretString: value, ClientRequestToken: v1 }));
  return { arn: created.ARN!, v1 };
}

describe('Secrets Manager double: versions and labels', () => {
  it('creates a secret whose first version is AWSCURRENT and reads it by name, ARN, stage and version', async () => {
    const { arn, v1 } = await newSecret();
    expect(arn).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:app\/key-.{6}$/);
    expect(await stages('app/key')).toEqual({ [v1]: ['AWSCURRENT'] });
    const byArn = await sm.send(new GetSecretValueCommand({ SecretId: arn }));
    expect(byArn).toMatchObject({ SecretString: 'v1', VersionId: v1, VersionStages: ['AWSCURRENT'] });
    expect(byArn.CreatedDate).toBeInstanceOf(Date);
    await expect(
      sm.send(new GetSecretValueCommand({ SecretId: arn, VersionId: v1, VersionStage: 'AWSCURRENT' })),
    ).resolves.toMatchObject({ SecretString: 'v1' });
  });

  it('answers ResourceNotFoundException for a missing secret, stage, or version/stage pair that disagree', async () => {
    const { v1 } = await newSecret();
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      sm.send(new GetSecretValueCommand({ SecretId: 'app/key', VersionStage: 'AWSPENDING' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(
      sm.send(new GetSecretValueCommand({ SecretId: 'app/key', VersionId: v1, VersionStage: 'AWSPREVIOUS' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('refuses to create a secret twice', async () => {
    await newSecret();
    await expect(newSecret()).rejects.toMatchObject({ name: 'ResourceExistsException' });
  });

  it('PutSecretValue without stages moves AWSCURRENT and AWSPREVIOUS follows; it is idempotent per token', async () => {
    const { v1 } = await newSecret();
    const v2 = randomUUID();
    const put = await sm.send(
      new PutSecretValueCommand({ SecretId: 'app/key', ClientRequestToken: v2, SecretString: 'v2' }),
    );
    expect(put.VersionStages).toEqual(['AWSCURRENT']);
    expect(await stages('app/key')).toEqual({ [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT'] });

    await sm.send(new PutSecretValueCommand({ SecretId: 'app/key', ClientRequestToken: v2, SecretString: 'v2' }));
    expect(await stages('app/key')).toEqual({ [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT'] });
    await expect(
      sm.send(new PutSecretValueCommand({ SecretId: 'app/key', ClientRequestToken: v2, SecretString: 'other' })),
    ).rejects.toMatchObject({ name: 'ResourceExistsException' });

    const v3 = randomUUID();
    await sm.send(new PutSecretValueCommand({ SecretId: 'app/key', ClientRequestToken: v3, SecretString: 'v3' }));
    expect(await stages('app/key')).toEqual({ [v2]: ['AWSPREVIOUS'], [v3]: ['AWSCURRENT'] });
    const all = await sm.send(new ListSecretVersionIdsCommand({ SecretId: 'app/key', IncludeDeprecated: true }));
    expect(all.Versions?.map((version) => version.VersionId)).toEqual([v1, v2, v3]);
    const live = await sm.send(new ListSecretVersionIdsCommand({ SecretId: 'app/key' }));
    expect(live.Versions?.map((version) => version.VersionId)).toEqual([v2, v3]);
  });

  it('PutSecretValue with VersionStages AWSPENDING and a RotationToken leaves AWSCURRENT alone', async () => {
    const { v1 } = await newSecret();
    const v2 = randomUUID();
    await sm.send(
      new PutSecretValueCommand({
        SecretId: 'app/key',
        ClientRequestToken: v2,
        SecretString: 'v2',
        VersionStages: ['AWSPENDING'],
        RotationToken: 'opaque-rotation-token',
      }),
    );
    expect(await stages('app/key')).toEqual({ [v1]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });
  });

  it('UpdateSecretVersionStage adds, moves (only with RemoveFromVersionId) and removes labels', async () => {
    const { v1 } = await newSecret();
    const v2 = randomUUID();
    await sm.send(
      new PutSecretValueCommand({
        SecretId: 'app/key',
        ClientRequestToken: v2,
        SecretString: 'v2',
        VersionStages: ['X'],
      }),
    );
    // Add a fresh label.
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: 'app/key', VersionStage: 'Y', MoveToVersionId: v1 }));
    // Moving an attached label without naming where it comes from fails.
    await expect(
      sm.send(
        new UpdateSecretVersionStageCommand({ SecretId: 'app/key', VersionStage: 'AWSCURRENT', MoveToVersionId: v2 }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(
      sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'app/key',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: v2,
          RemoveFromVersionId: v2,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'app/key',
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: v2,
        RemoveFromVersionId: v1,
      }),
    );
    expect(await stages('app/key')).toEqual({ [v1]: ['Y', 'AWSPREVIOUS'], [v2]: ['X', 'AWSCURRENT'] });
    await sm.send(
      new UpdateSecretVersionStageCommand({ SecretId: 'app/key', VersionStage: 'X', RemoveFromVersionId: v2 }),
    );
    await expect(
      sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'app/key',
          VersionStage: 'AWSCURRENT',
          RemoveFromVersionId: v2,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    expect(await stages('app/key')).toEqual({ [v1]: ['Y', 'AWSPREVIOUS'], [v2]: ['AWSCURRENT'] });
  });
});

describe('Secrets Manager double: listing, tags, deletion', () => {
  it('filters by tag key and value (prefix, negation) and paginates', async () => {
    for (const name of ['alice', 'bob', 'carol']) {
      await sm.send(
        new CreateSecretCommand({
          Name: `consumers/${name}`,
          SecretString: '{}',
          Tags: [{ Key: 'meshgate:consumer', Value: name }],
        }),
      );
    }
    await sm.send(new CreateSecretCommand({ Name: 'other', SecretString: '{}', Tags: [{ Key: 'team', Value: 'x' }] }));

    const names: string[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const page = await sm.send(
        new ListSecretsCommand({
          Filters: [{ Key: 'tag-key', Values: ['meshgate:consumer'] }],
          MaxResults: 2,
          NextToken,
        }),
      );
      names.push(...(page.SecretList ?? []).map((secret) => secret.Name!));
      NextToken = page.NextToken;
      pages += 1;
    } while (NextToken);
    expect(names).toEqual(['consumers/alice', 'consumers/bob', 'consumers/carol']);
    expect(pages).toBe(2);

    const bob = await sm.send(
      new ListSecretsCommand({
        Filters: [
          { Key: 'tag-key', Values: ['meshgate:consumer'] },
          { Key: 'tag-value', Values: ['bo'] },
        ],
      }),
    );
    expect(bob.SecretList?.map((secret) => secret.Name)).toEqual(['consumers/bob']);
    expect(bob.SecretList?.[0]?.Tags).toEqual([{ Key: 'meshgate:consumer', Value: 'bob' }]);
    expect(Object.values(bob.SecretList?.[0]?.SecretVersionsToStages ?? {})).toEqual([['AWSCURRENT']]);

    const notAlice = await sm.send(
      new ListSecretsCommand({ Filters: [{ Key: 'tag-value', Values: ['!alice', '!x'] }] }),
    );
    expect(notAlice.SecretList?.map((secret) => secret.Name)).toEqual(['consumers/bob', 'consumers/carol']);
  });

  it('tags and untags, and DescribeSecret returns only non-empty fields', async () => {
    await newSecret();
    expect(await sm.send(new DescribeSecretCommand({ SecretId: 'app/key' }))).not.toHaveProperty('Tags');
    await sm.send(
      new TagResourceCommand({
        SecretId: 'app/key',
        Tags: [
          { Key: 'a', Value: '1' },
          { Key: 'b', Value: '2' },
        ],
      }),
    );
    await sm.send(new UntagResourceCommand({ SecretId: 'app/key', TagKeys: ['a'] }));
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'app/key' }));
    expect(described.Tags).toEqual([{ Key: 'b', Value: '2' }]);
    expect(described).not.toHaveProperty('RotationEnabled');
    expect(described).not.toHaveProperty('LastRotatedDate');
  });

  it('deletes with a recovery window (reads refused) or at once', async () => {
    await newSecret('a');
    await newSecret('b');
    await sm.send(new DeleteSecretCommand({ SecretId: 'a', RecoveryWindowInDays: 7 }));
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'a' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
    expect((await sm.send(new DescribeSecretCommand({ SecretId: 'a' }))).DeletedDate).toBeInstanceOf(Date);
    await sm.send(new DeleteSecretCommand({ SecretId: 'b', ForceDeleteWithoutRecovery: true }));
    await expect(sm.send(new DescribeSecretCommand({ SecretId: 'b' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect((await sm.send(new ListSecretsCommand({}))).SecretList ?? []).toEqual([]);
  });
});

describe('Secrets Manager double: RotateSecret', () => {
  const lambdaArn = 'arn:aws:lambda:us-east-1:123456789012:function:rotator';

  /** A minimal rotation function in the style of the AWS template (value = "rotated-<token>"). */
  function registerTemplateRotator(failAt?: string): Array<{ Step: string; ClientRequestToken: string }> {
    const calls: Array<{ Step: string; ClientRequestToken: string }> = [];
    double.registerFunction('rotator', async (event) => {
      const { Step, SecretId, ClientRequestToken, RotationToken } = event as Record<string, string>;
      calls.push({ Step: Step!, ClientRequestToken: ClientRequestToken! });
      if (Step === failAt) throw new Error(`${Step} exploded`);
      if (Step === 'createSecret') {
        await sm.send(
          new PutSecretValueCommand({
            SecretId,
            ClientRequestToken,
            SecretString: `rotated-${ClientRequestToken}`,
            VersionStages: ['AWSPENDING'],
            RotationToken,
          }),
        );
      }
      if (Step === 'finishSecret') {
        const versions = await stages(SecretId!);
        const current = Object.keys(versions).find((id) => versions[id]?.includes('AWSCURRENT'));
        await sm.send(
          new UpdateSecretVersionStageCommand({
            SecretId,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: ClientRequestToken,
            RemoveFromVersionId: current,
          }),
        );
      }
      return undefined;
    });
    return calls;
  }

  it('stages AWSPENDING on the token and runs the four steps in order', async () => {
    const { v1 } = await newSecret();
    const calls = registerTemplateRotator();
    const token = randomUUID();
    const rotated = await sm.send(
      new RotateSecretCommand({
        SecretId: 'app/key',
        ClientRequestToken: token,
        RotationLambdaARN: lambdaArn,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    );
    expect(rotated.VersionId).toBe(token);
    expect(calls).toEqual(
      ['createSecret', 'setSecret', 'testSecret', 'finishSecret'].map((Step) => ({ Step, ClientRequestToken: token })),
    );
    expect(await stages('app/key')).toEqual({ [v1]: ['AWSPREVIOUS'], [token]: ['AWSPENDING', 'AWSCURRENT'] });
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'app/key' }));
    expect(described).toMatchObject({ RotationEnabled: true, RotationLambdaARN: lambdaArn });
    expect(described.RotationRules).toEqual({ AutomaticallyAfterDays: 30 });
    expect(described.LastRotatedDate).toBeInstanceOf(Date);
    expect(described.NextRotationDate!.getTime() - described.LastRotatedDate!.getTime()).toBe(30 * 86_400_000);

    // AWSPENDING on AWSCURRENT's version does not block the next rotation.
    await sm.send(new RotateSecretCommand({ SecretId: 'app/key' }));
  });

  it('fails naming the step, leaves AWSPENDING, and refuses a new rotation until it is removed', async () => {
    const { v1 } = await newSecret();
    const calls = registerTemplateRotator('testSecret');
    const token = randomUUID();
    const failure = await sm
      .send(new RotateSecretCommand({ SecretId: 'app/key', ClientRequestToken: token, RotationLambdaARN: lambdaArn }))
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: 'InternalServiceError' });
    expect((failure as Error).message).toContain(`Error when executing lambda ${lambdaArn} during testSecret step`);
    expect(calls.map((call) => call.Step)).toEqual(['createSecret', 'setSecret', 'testSecret']);
    expect(await stages('app/key')).toEqual({ [v1]: ['AWSCURRENT'], [token]: ['AWSPENDING'] });

    await expect(sm.send(new RotateSecretCommand({ SecretId: 'app/key' }))).rejects.toThrow(
      "A previous rotation isn't complete. That rotation will be reattempted.",
    );
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'app/key',
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: token,
      }),
    );
    registerTemplateRotator();
    await sm.send(new RotateSecretCommand({ SecretId: 'app/key' }));
  });

  it('with RotateImmediately false runs testSecret only and removes the pending version again', async () => {
    const { v1 } = await newSecret();
    const calls = registerTemplateRotator();
    await sm.send(
      new RotateSecretCommand({
        SecretId: 'app/key',
        RotationLambdaARN: lambdaArn,
        RotateImmediately: false,
        RotationRules: { ScheduleExpression: 'rate(4 hours)' },
      }),
    );
    expect(calls.map((call) => call.Step)).toEqual(['testSecret']);
    expect(await stages('app/key')).toEqual({ [v1]: ['AWSCURRENT'] });
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'app/key' }));
    expect(described.RotationEnabled).toBe(true);
    expect(described).not.toHaveProperty('LastRotatedDate');
  });

  it('needs a rotation function; CancelRotateSecret turns rotation off but leaves AWSPENDING', async () => {
    await newSecret();
    await expect(sm.send(new RotateSecretCommand({ SecretId: 'app/key' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
    registerTemplateRotator('setSecret');
    const token = randomUUID();
    await expect(
      sm.send(
        new RotateSecretCommand({ SecretId: 'app/key', ClientRequestToken: token, RotationLambdaARN: lambdaArn }),
      ),
    ).rejects.toThrow('during setSecret step');
    const cancelled = await sm.send(new CancelRotateSecretCommand({ SecretId: 'app/key' }));
    expect(cancelled.VersionId).toBe(token);
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'app/key' }));
    expect(described.RotationEnabled).toBe(false);
    expect(described.VersionIdsToStages?.[token]).toEqual(['AWSPENDING']);
  });

  it('publishes CloudTrail records for writes without SecretString or RotationToken', async () => {
    await newSecret('app/key', 'super-secret-value');
    registerTemplateRotator();
    await sm.send(new RotateSecretCommand({ SecretId: 'app/key', RotationLambdaARN: lambdaArn }));
    const names = double.cloudTrail.map((event) => event.detail.eventName);
    expect(names).toEqual(['CreateSecret', 'RotateSecret', 'PutSecretValue', 'UpdateSecretVersionStage']);
    for (const event of double.cloudTrail) expect(event.source).toBe('aws.secretsmanager');
    const serialized = JSON.stringify(double.cloudTrail);
    expect(serialized).not.toContain('super-secret-value');
    expect(serialized).not.toContain('rotated-');
    expect(serialized).not.toMatch(/rotationToken|secretString/i);
    expect(double.cloudTrail[0]?.detail.requestParameters).toMatchObject({ name: 'app/key' });
  });
});
