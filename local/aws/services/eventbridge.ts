import { AwsServiceError, type AwsServiceModule } from '../protocol.js';

// Placeholder until this service is implemented: every request answers NotImplemented.
export function createEventBridgeService(): AwsServiceModule {
  return {
    signingName: 'events',
    protocol: 'json',
    operationOf: () => undefined,
    reset: () => {},
    handle: async () => {
      throw new AwsServiceError('NotImplemented', 'EventBridge is not served yet', 501);
    },
  };
}
