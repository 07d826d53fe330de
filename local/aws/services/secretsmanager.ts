import { AwsServiceError, type AwsServiceModule } from '../protocol.js';

// Placeholder until this service is implemented: every request answers NotImplemented.
export function createSecretsManagerService(): AwsServiceModule {
  return {
    signingName: 'secretsmanager',
    protocol: 'json',
    operationOf: () => undefined,
    reset: () => {},
    handle: async () => {
      throw new AwsServiceError('NotImplemented', 'SecretsManager is not served yet', 501);
    },
  };
}
