import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RotationInvocationSchema } from '../../shared/events/rotation.js';

const sample = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8'));

describe('rotation invocations', () => {
  it.each([
    ['rotation-createSecret.json', 'createSecret'],
    ['rotation-setSecret.json', 'setSecret'],
    ['rotation-testSecret.json', 'testSecret'],
    ['rotation-finishSecret.json', 'finishSecret'],
  ])('%s is the %s step', (file, step) => {
    expect(RotationInvocationSchema.parse(sample(file))).toMatchObject({
      Step: step,
      SecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:meshgate/consumers/alice-AbCdEf',
      ClientRequestToken: 'eeb681b1-a07d-4aeb-9b61-1ee6590ec295',
    });
  });

  it.each([
    ['create_secret', 'createSecret'],
    ['FinishSecret', 'finishSecret'],
  ])('accepts the %s spelling as %s', (spelling, step) => {
    const parsed = RotationInvocationSchema.parse({ Step: spelling, SecretId: 's', ClientRequestToken: 't' });
    expect(parsed.Step).toBe(step);
  });

  it('refuses an unknown step', () => {
    expect(RotationInvocationSchema.safeParse({ Step: 'dance', SecretId: 's', ClientRequestToken: 't' }).success).toBe(
      false,
    );
  });
});
