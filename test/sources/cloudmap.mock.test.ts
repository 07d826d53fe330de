import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import {
  DiscoverInstancesCommand,
  ListNamespacesCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  ServiceDiscoveryClient,
  ServiceDiscoveryServiceException,
} from '@aws-sdk/client-servicediscovery';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudMapSource } from '../../shared/sources/cloudmap/index.js';
import { SourceError } from '../../shared/sources/errors.js';
import { readMesh } from '../../shared/sources/index.js';

const client = new ServiceDiscoveryClient({ region: 'us-east-1' });
const cloudMap = mockClient(client);
const taggingClient = new ResourceGroupsTaggingAPIClient({ region: 'us-east-1' });
const tagging = mockClient(taggingClient);
const source = (namespaces: string[]) => new CloudMapSource({ namespaces, client, tagging: taggingClient });
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
  tagging.reset();
  // Two pages: the source follows PaginationToken until AWS answers an empty one.
  tagging
    .on(GetResourcesCommand, { PaginationToken: undefined })
    .resolves({
      PaginationToken: 'page-2',
      ResourceTagMappingList: [
        { ResourceARN: serviceArn('srv-web'), Tags: [{ Key: 'meshgate:expose', Value: 'true' }] },
      ],
    })
    .on(GetResourcesCommand, { PaginationToken: 'page-2' })
    .resolves({
      PaginationToken: '',
      ResourceTagMappingList: [
        { ResourceARN: serviceArn('srv-vanished'), Tags: [{ Key: 'meshgate:expose', Value: 'true' }] },
        // Exposed, but in a namespace this source does not read.
        { ResourceARN: serviceArn('srv-elsewhere'), Tags: [{ Key: 'meshgate:expose', Value: 'true' }] },
      ],
    });
  cloudMap.on(DiscoverInstancesCommand, { ServiceName: 'vanished' }).rejects(
    new ServiceDiscoveryServiceException({
      name: 'ServiceNotFound',
      $fault: 'client',
      message: 'Service not found',
      $metadata: { httpStatusCode: 400 },
    }),
  );
  cloudMap.on(DiscoverInstancesCommand, { ServiceName: 'web' }).resolves({
    Instances: [{ InstanceId: 'web-1', HealthStatus: 'HEALTHY', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1' } }],
  });
});

describe('Cloud Map source (SDK mock)', () => {
  it('records a service deleted during the read and keeps the others', async () => {
    const snapshot = await readMesh([source(['apps.local'])]);

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
        reason: 'Cloud Map DiscoverInstances apps.local/vanished failed: ServiceNotFound (HTTP 400): Service not found',
      },
    ]);
    // Exposure from the tags of all services (two pages), instances of the exposed ones only: no call for 'quiet'.
    expect(tagging.commandCalls(GetResourcesCommand)[0]?.args[0].input).toEqual({
      ResourceTypeFilters: ['servicediscovery:service'],
      TagFilters: [{ Key: 'meshgate:expose' }],
      ResourcesPerPage: 100,
    });
    expect(tagging.commandCalls(GetResourcesCommand)).toHaveLength(2);
    expect(cloudMap.commandCalls(ListTagsForResourceCommand)).toHaveLength(0);
    expect(cloudMap.commandCalls(DiscoverInstancesCommand).map((call) => call.args[0].input.ServiceName)).toEqual([
      'web',
      'vanished',
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
    const snapshot = await readMesh([source([])]);

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

describe('Cloud Map exposure through the Tagging API (SDK mock)', () => {
  it('fails the read when GetResources fails: no tags is not "nothing exposed"', async () => {
    tagging
      .on(GetResourcesCommand)
      .rejects(
        Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException', $metadata: { httpStatusCode: 400 } }),
      );
    const error = await readMesh([source(['apps.local'])]).catch((caught: unknown) => caught);

    // The whole read fails (nothing is synced, nothing removed): which services are exposed is unknown.
    expect(error).toBeInstanceOf(SourceError);
    expect(cloudMap.commandCalls(DiscoverInstancesCommand)).toHaveLength(0);
  });

  it('an abort ends the read at once, with DiscoverInstances still in flight', async () => {
    tagging.on(GetResourcesCommand).resolves({
      PaginationToken: '',
      ResourceTagMappingList: [
        { ResourceARN: serviceArn('srv-web'), Tags: [{ Key: 'meshgate:expose', Value: 'true' }] },
      ],
    });
    const controller = new AbortController();
    // The call never answers: the SDK is not given the signal (its middleware is cached), the read stops all the same.
    cloudMap.on(DiscoverInstancesCommand, { ServiceName: 'web' }).callsFake(() => {
      controller.abort(new Error('Lambda timeout near'));
      return new Promise(() => {});
    });

    await expect(readMesh([source(['apps.local'])], controller.signal)).rejects.toThrow('Lambda timeout near');
  });

  it('reads a scoped service tags directly (the Tagging API may not show a new tag yet)', async () => {
    tagging.on(GetResourcesCommand).resolves({ PaginationToken: '', ResourceTagMappingList: [] });
    cloudMap.on(ListTagsForResourceCommand, { ResourceARN: serviceArn('srv-web') }).resolves({
      Tags: [{ Key: 'meshgate:expose', Value: 'true' }],
    });
    const snapshot = await source(['apps.local']).readFedBy({
      id: 'srv-web',
      arn: serviceArn('srv-web'),
      namespace: 'apps.local',
      service: 'web',
    });

    expect(snapshot.cloudMapServices.map((service) => service.name)).toEqual(['web']);
    expect(tagging.commandCalls(GetResourcesCommand)).toHaveLength(0);
    expect(cloudMap.commandCalls(ListTagsForResourceCommand)).toHaveLength(1);
  });
});
