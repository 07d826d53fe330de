import { AwsServiceError, type AwsServiceModule } from '../protocol.js';

// Placeholder until this service is implemented: every request answers NotImplemented.
export function createS3Service(): AwsServiceModule {
  return {
    signingName: 's3',
    protocol: 'rest-xml',
    operationOf: () => undefined,
    reset: () => {},
    handle: async () => {
      throw new AwsServiceError('NotImplemented', 'S3 is not served yet', 501);
    },
  };
}
