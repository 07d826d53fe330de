import {
  DiscoverInstancesCommand,
  ListNamespacesCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  ServiceDiscoveryClient,
  ServiceDiscoveryServiceException,
} from '@aws-sdk/client-servicediscovery';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudMapSource } from '../../shared/sources/cloudmap/index.js';
import { readMesh } from '../../shared/sources/index.js';

const client = new ServiceDiscoveryClient({ region: 'us-east-1' });
const cloudMap = mockClient(client);
const serviceArn = (id: string) => `arn:aws:servicediscovery:us-east-1:123456789012:service/${id}`;

beforeEach(() => {
  cloudMap.reset();
  cloudMap.on(ListNamespacesCommand).resolves({ Namespaces: [{ Id: 'ns-apps', Name: 'apps.local' }] });
  cloudMap.on(ListServicesCommand).resolves({
    Services: ['web', 'vanished', 'quiet'].map((name) => ({
      Id: `srv-${name}`,
      Arn: serviceArn(`srv-${name}`),
      Name: name,
    })),
  });
  cloudMap.on(ListTagsForResourceCommand, { ResourceARN: serviceArn('srv-web') }).resolves({
    Tags: [{ Key: 'meshgate:expose', Value: 'true' }],
  });
  cloudMap
    .on(ListTagsForResourceCommand, { ResourceARN: serviceArn('srv-vanished') })
    .rejects(new ResourceNotFoundException({ message: 'Service not found', $metadata: { httpStatusCode: 400 } }));
  cloudMap.on(ListTagsForResourceCommand, { ResourceARN: serviceArn('srv-quiet') }).resolves({ Tags: [] });
  cloudMap.on(DiscoverInstancesCommand, { ServiceName: 'web' }).resolves({
    Instances: [{ InstanceId: 'web-1', HealthStatus: 'HEALTHY', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1' } }],
  });
  // An unexposed service's unusable instance is nobody's concern.
  cloudMap.on(DiscoverInstancesCommand, { ServiceName: 'quiet' }).resolves({
    Instances: [{ InstanceId: 'quiet-1', Attributes: {} }],
  });
});

describe('Cloud Map source (SDK mock)', () => {
  it('records a service deleted during the read and keeps the others', async () => {
    const snapshot = await readMesh([new CloudMapSource({ namespaces: ['apps.local'], client })]);

    expect(snapshot.cloudMapServices).toEqual([
      {
        id: 'srv-web',
        arn: serviceArn('srv-web'),
        namespace: 'apps.local',
        name: 'web',
        tags: { 'meshgate:expose': 'true' },
        endpoints: [
          {
            instanceId: 'web-1',
            host: '10.0.0.1',
            port: 80,
            healthy: true,
            attributes: { AWS_INSTANCE_IPV4: '10.0.0.1' },
          },
        ],
      },
    ]);
    expect(snapshot.failures).toEqual([
      {
        source: 'cloudmap',
        object: 'namespace/apps.local/service/vanished',
        reason:
          'Cloud Map ListTagsForResource namespace/apps.local/service/vanished failed: ResourceNotFoundException (HTTP 400): Service not found',
      },
    ]);
    expect(cloudMap.commandCalls(ListServicesCommand)[0]?.args[0].input.Filters).toEqual([
      { Name: 'NAMESPACE_ID', Values: ['ns-apps'], Condition: 'EQ' },
    ]);
  });

  it('records a namespace whose services answer 500 after the retries as a failure of that namespace', async () => {
    cloudMap.on(ListServicesCommand).rejects(
      new ServiceDiscoveryServiceException({
        name: 'InternalFailure',
        $fault: 'server',
        message: 'We encountered an internal error',
        $metadata: { httpStatusCode: 500 },
      }),
    );
    const snapshot = await readMesh([new CloudMapSource({ namespaces: [], client })]);

    expect(snapshot.cloudMapServices).toEqual([]);
    expect(snapshot.failures).toEqual([
      {
        source: 'cloudmap',
        object: 'namespace/apps.local',
        reason:
          'Cloud Map ListServices namespace/apps.local failed: InternalFailure (HTTP 500): We encountered an internal error',
      },
    ]);
  });
});
