import { AwsServiceError, type AwsServiceModule } from '../protocol.js';

// Placeholder until this service is implemented: every request answers NotImplemented.
export function createLambdaService(): AwsServiceModule {
  return {
    signingName: 'lambda',
    protocol: 'rest-json',
    operationOf: () => undefined,
    reset: () => {},
    handle: async () => {
      throw new AwsServiceError('NotImplemented', 'Lambda is not served yet', 501);
    },
  };
}
