import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsDouble, startAwsDouble } from '../../local/aws/server.js';
import { SecretsManagerJsonClient } from '../../shared/aws/secrets-manager.js';
import { waitForRotation } from '../../shared/rotation-schedule/schedule.js';

/** Secrets Manager as AWS runs rotations: RotateSecret answers first, the four steps run after it. */
let double: AwsDouble;
let sm: SecretsManagerJsonClient;
const lambdaArn = 'arn:aws:lambda:us-east-1:123456789012:function:rotator';

beforeAll(async () => {
  double = await startAwsDouble({ rotation: 'background' });
  sm = new SecretsManagerJsonClient(
    { region: double.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 },
    { AWS_ENDPOINT_URL: double.url },
  );
});
afterAll(async () => {
  sm.destroy();
  await double.close();
});
beforeEach(() => double.reset());

const stagesOf = async (secretId: string) => (await sm.describeSecret({ SecretId: secretId })).VersionIdsToStages ?? {};

/**
 * A rotation function in the style of the AWS template whose steps wait for `gate`; `failAt` fails that step, and
 * with `cleanUp` the failure removes AWSPENDING as meshgate's steps do.
 */
function registerRotator(gate: Promise<void>, options: { failAt?: string; cleanUp?: boolean } = {}): string[] {
  const steps: string[] = [];
  double.registerFunction('rotator', async (event) => {
    const { Step, SecretId, ClientRequestToken } = event as Record<string, string>;
    await gate;
    steps.push(Step ?? '');
    if (Step === options.failAt) {
      if (options.cleanUp) {
        await sm.updateSecretVersionStage({
          SecretId,
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: ClientRequestToken,
        });
      }
      throw new Error(`${Step} exploded`);
    }
    if (Step === 'createSecret') {
      await sm.putSecretValue({
        SecretId,
        ClientRequestToken,
        SecretString: 'next',
        VersionStages: ['AWSPENDING'],
      });
    }
    if (Step === 'finishSecret') {
      const versions = await stagesOf(SecretId ?? '');
      const current = Object.keys(versions).find((id) => versions[id]?.includes('AWSCURRENT'));
      await sm.updateSecretVersionStage({
        SecretId,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: ClientRequestToken,
        RemoveFromVersionId: current,
      });
    }
    return undefined;
  });
  return steps;
}

async function startRotation() {
  const { ARN } = await sm.createSecret({ Name: `app/${randomUUID()}`, SecretString: 'first' });
  const { VersionId } = await sm.rotateSecret({ SecretId: ARN, RotationLambdaARN: lambdaArn });
  return { consumer: 'alice', secretArn: ARN ?? '', versionId: VersionId ?? '' };
}

describe('rotation in the background, as Secrets Manager runs it', () => {
  it('RotateSecret answers before any step runs; the wait ends when the new version is AWSCURRENT', async () => {
    let open = () => {};
    const steps = registerRotator(new Promise<void>((resolve) => (open = resolve)));
    const started = await startRotation();
    // Answered, and nothing has run: the version is only staged AWSPENDING.
    expect(steps).toEqual([]);
    expect((await stagesOf(started.secretArn))[started.versionId]).toEqual(['AWSPENDING']);

    let waited = 0;
    const done = waitForRotation(sm, started, { pollMs: 5, onWait: () => (waited += 1) });
    open();
    await done;
    expect(waited).toBe(1);
    expect(steps).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    expect((await stagesOf(started.secretArn))[started.versionId]).toContain('AWSCURRENT');
  });

  it('reports a rotation whose failed step removed AWSPENDING as failed, not as done', async () => {
    registerRotator(Promise.resolve(), { failAt: 'setSecret', cleanUp: true });
    const started = await startRotation();
    await expect(waitForRotation(sm, started, { pollMs: 5 })).rejects.toThrow(
      `version ${started.versionId} is no longer AWSPENDING and never became AWSCURRENT`,
    );
  });

  it('ends the wait, saying the rotation still runs, when it outlasts the timeout', async () => {
    registerRotator(new Promise<void>(() => {}));
    const started = await startRotation();
    await expect(waitForRotation(sm, started, { pollMs: 5, timeoutMs: 30 })).rejects.toThrow(
      'the rotation of consumer alice is still running',
    );
  });
});
