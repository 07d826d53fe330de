import type { GetSecretValueRequest, GetSecretValueResponse } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerCalls } from '../../shared/aws/secrets-manager.js';

/** A Secrets Manager whose only call is GetSecretValue (the Kong admin token's read), recorded and answered by `answer`. */
export interface FakeSecretValues extends SecretsManagerCalls {
  /** Each GetSecretValue's input, in order. */
  readonly reads: GetSecretValueRequest[];
}

/**
 * GetSecretValue answers `answer(input)` (a throw is the call's failure); any other call fails, as it would be a
 * call the code under test should not make. The default answers nothing: for code that must not read a secret.
 */
export function fakeSecretValues(
  answer: (input: GetSecretValueRequest) => GetSecretValueResponse = () => {
    throw new Error('GetSecretValue was not expected');
  },
): FakeSecretValues {
  const reads: GetSecretValueRequest[] = [];
  const unexpected = (operation: string) => async () => {
    throw new Error(`${operation} was not expected`);
  };
  return {
    reads,
    async getSecretValue(input) {
      reads.push(input);
      return answer(input);
    },
    describeSecret: unexpected('DescribeSecret'),
    listSecrets: unexpected('ListSecrets'),
    createSecret: unexpected('CreateSecret'),
    putSecretValue: unexpected('PutSecretValue'),
    rotateSecret: unexpected('RotateSecret'),
    updateSecretVersionStage: unexpected('UpdateSecretVersionStage'),
  };
}
