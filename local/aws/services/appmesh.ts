import { AwsServiceError, type AwsServiceModule } from '../protocol.js';

// Placeholder until this service is implemented: every request answers NotImplemented.
export function createAppMeshService(): AwsServiceModule {
  return {
    signingName: 'appmesh',
    protocol: 'rest-json',
    operationOf: () => undefined,
    reset: () => {},
    handle: async () => {
      throw new AwsServiceError('NotImplemented', 'AppMesh is not served yet', 501);
    },
  };
}
