import { AwsServiceError, type AwsServiceModule } from '../protocol.js';

// Placeholder until this service is implemented: every request answers NotImplemented.
export function createCloudMapService(): AwsServiceModule {
  return {
    signingName: 'servicediscovery',
    protocol: 'json',
    operationOf: () => undefined,
    reset: () => {},
    handle: async () => {
      throw new AwsServiceError('NotImplemented', 'CloudMap is not served yet', 501);
    },
  };
}
