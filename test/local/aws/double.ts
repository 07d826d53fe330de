import { AppMeshClient } from '@aws-sdk/client-app-mesh';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type AwsDouble, startAwsDouble } from '../../../local/aws/server.js';

export interface DoubleClients {
  appMesh: AppMeshClient;
  serviceDiscovery: ServiceDiscoveryClient;
  s3: S3Client;
  eventBridge: EventBridgeClient;
}

/** Real SDK clients pointed at the double, one attempt each so error tests see the first answer. */
export function clientsFor(double: AwsDouble): DoubleClients {
  const config = {
    endpoint: double.url,
    region: double.region,
    credentials: { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' },
    maxAttempts: 1,
  };
  return {
    appMesh: new AppMeshClient(config),
    serviceDiscovery: new ServiceDiscoveryClient({ ...config, disableHostPrefix: true }),
    s3: new S3Client({ ...config, forcePathStyle: true }),
    eventBridge: new EventBridgeClient(config),
  };
}

/** Starts one AWS double for the file (port 0), resets it before each test and closes it after. */
export function useAwsDouble(): { double: () => AwsDouble; clients: () => DoubleClients } {
  let double: AwsDouble | undefined;
  let clients: DoubleClients | undefined;
  beforeAll(async () => {
    double = await startAwsDouble();
    clients = clientsFor(double);
  });
  beforeEach(() => double?.reset());
  afterAll(async () => {
    for (const client of Object.values(clients ?? {})) client.destroy();
    await double?.close();
  });
  return { double: () => double as AwsDouble, clients: () => clients as DoubleClients };
}
