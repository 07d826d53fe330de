import type { AwsServiceModule } from '../protocol.js';
import { createAppMeshService } from './appmesh.js';
import { createCloudMapService } from './cloudmap.js';
import { createCloudTrailService } from './cloudtrail.js';
import { createEventBridgeService } from './eventbridge.js';
import { createIamService } from './iam.js';
import { createLambdaService } from './lambda.js';
import { createLogsService } from './logs.js';
import { createS3Service } from './s3.js';
import { createSecretsManagerService, type SecretsManagerOptions } from './secretsmanager.js';
import { createTaggingService } from './tagging.js';

/** Every service the AWS double serves, fresh. */
export function createServices(options: { secretsManager?: SecretsManagerOptions } = {}): AwsServiceModule[] {
  return [
    createAppMeshService(),
    createCloudMapService(),
    createS3Service(),
    createEventBridgeService(),
    createSecretsManagerService(options.secretsManager),
    createLambdaService(),
    createTaggingService(),
    createCloudTrailService(),
    createIamService(),
    createLogsService(),
  ];
}
