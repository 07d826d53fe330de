import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { DiscoverInstancesRequest } from '@aws-sdk/client-servicediscovery';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CloudMapError, type CloudMapReads } from '../../shared/aws/cloud-map-reads.js';
import { TokenBucket } from '../../shared/concurrency.js';
import { CloudMapSource } from '../../shared/sources/cloudmap/index.js';
import { SourceError } from '../../shared/sources/errors.js';
import { readMesh } from '../../shared/sources/index.js';

/** meshgate's Cloud Map reads, each call faked per test. */
const cloudMap = {
  discoverInstances: vi.fn(),
  listNamespaces: vi.fn(),
  listServices: vi.fn(),
  listTagsForResource: vi.fn(),
  getService: vi.fn(),
  getNamespace: vi.fn(),
  getOperation: vi.fn(),
} satisfies CloudMapReads;
const taggingClient = new ResourceGroupsTaggingAPIClient({ region: 'us-east-1' });
const tagging = mockClient(taggingClient);
const source = (namespaces: string[]) => new CloudMapSource({ namespaces, client: cloudMap, tagging: taggingClient });
const serviceArn = (id: string) => `arn:aws:servicediscovery:us-east-1:123456789012:service/${id}`;
/** An error answer as the client throws it after its attempts. */
const cloudMapError = (code: string, status: number, message: string) =>
  new CloudMapError(code, { status, headers: {}, body: '' }, 1, message, {});

beforeEach(() => {
  for (const read of Object.values(cloudMap)) read.mockReset();
  cloudMap.listNamespaces.mockResolvedValue({ Namespaces: [{ Id: 'ns-apps', Name: 'apps.local' }] });
  cloudMap.listServices.mockResolvedValue({
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
  cloudMap.discoverInstances.mockImplementation(async ({ ServiceName }: DiscoverInstancesRequest) => {
    if (ServiceName === 'vanished') throw cloudMapError('ServiceNotFound', 400, 'Service not found');
    if (ServiceName !== 'web') throw new Error(`DiscoverInstances ${ServiceName}: not expected`);
    return {
      Instances: [{ InstanceId: 'web-1', HealthStatus: 'HEALTHY', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1' } }],
    };
  });
});

describe('Cloud Map source (its reads faked)', () => {
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
    expect(cloudMap.listTagsForResource).not.toHaveBeenCalled();
    expect(cloudMap.discoverInstances.mock.calls.map(([input]) => input.ServiceName)).toEqual(['web', 'vanished']);
    expect(cloudMap.listServices.mock.calls[0]?.[0].Filters).toEqual([
      { Name: 'NAMESPACE_ID', Values: ['ns-apps'], Condition: 'EQ' },
    ]);
  });

  it('records a namespace whose services answer 500 after the retries as a failure of that namespace', async () => {
    cloudMap.listServices.mockRejectedValue(cloudMapError('InternalFailure', 500, 'We encountered an internal error'));
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
  it('starts reading an exposed service as soon as its listing and tags are in, before the last tags page', async () => {
    tagging.on(GetResourcesCommand, { PaginationToken: 'page-2' }).callsFake(async () => {
      // 'web' was listed and tagged on the first pages: its instances are read while this page is still pending.
      await vi.waitFor(() => expect(cloudMap.discoverInstances).toHaveBeenCalled(), { timeout: 2000 });
      return { PaginationToken: '', ResourceTagMappingList: [] };
    });
    const snapshot = await readMesh([source(['apps.local'])]);
    expect(snapshot.cloudMapServices.map((service) => service.name)).toEqual(['web']);
  });

  it('counts nothing read early for a namespace whose listing then fails: it keeps all it had', async () => {
    cloudMap.listServices
      .mockResolvedValueOnce({
        NextToken: 'services-2',
        Services: [{ Id: 'srv-web', Arn: serviceArn('srv-web'), Name: 'web' }],
      })
      .mockRejectedValueOnce(cloudMapError('InternalFailure', 500, 'We encountered an internal error'));
    // Read early (listed and tagged on the first pages), with an instance that would be reported as unusable.
    cloudMap.discoverInstances.mockResolvedValue({ Instances: [{ InstanceId: 'web-1', Attributes: {} }] });
    const snapshot = await readMesh([source(['apps.local'])]);

    expect(cloudMap.discoverInstances).toHaveBeenCalled();
    expect(snapshot.cloudMapServices).toEqual([]);
    expect(snapshot.failures.map(({ object }) => object)).toEqual(['namespace/apps.local']);
  });

  it('paces DiscoverInstances through its quota: a token before each call, none for services not exposed', async () => {
    let tokens = 0;
    const quota = new TokenBucket({ capacity: 1, refillPerSecond: 1 });
    vi.spyOn(quota, 'take').mockImplementation(async () => {
      tokens += 1;
    });
    /** Tokens taken when each DiscoverInstances was sent. */
    const tokensAtCall: number[] = [];
    const discover = cloudMap.discoverInstances.getMockImplementation();
    cloudMap.discoverInstances.mockImplementation(async (input: DiscoverInstancesRequest) => {
      tokensAtCall.push(tokens);
      return discover?.(input);
    });
    const paced = new CloudMapSource({ namespaces: ['apps.local'], client: cloudMap, tagging: taggingClient, quota });
    await paced.read();
    // Two exposed services ('web', 'vanished'), two tokens; 'quiet' is not exposed and takes none.
    expect(tokens).toBe(2);
    expect(tokensAtCall.map((taken, call) => taken > call)).toEqual([true, true]);
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
    expect(cloudMap.discoverInstances).not.toHaveBeenCalled();
  });

  it('an abort ends the read at once, with DiscoverInstances still in flight', async () => {
    tagging.on(GetResourcesCommand).resolves({
      PaginationToken: '',
      ResourceTagMappingList: [
        { ResourceARN: serviceArn('srv-web'), Tags: [{ Key: 'meshgate:expose', Value: 'true' }] },
      ],
    });
    const controller = new AbortController();
    // The call never answers, even to the signal it is given: the read stops all the same.
    cloudMap.discoverInstances.mockImplementation(() => {
      controller.abort(new Error('Lambda timeout near'));
      return new Promise(() => {});
    });

    await expect(readMesh([source(['apps.local'])], controller.signal)).rejects.toThrow('Lambda timeout near');
    // The client is handed the signal, so that it ends the request itself.
    expect(cloudMap.discoverInstances.mock.calls[0]?.[1]).toBe(controller.signal);
  });

  it('reads a scoped service tags directly (the Tagging API may not show a new tag yet)', async () => {
    tagging.on(GetResourcesCommand).resolves({ PaginationToken: '', ResourceTagMappingList: [] });
    cloudMap.listTagsForResource.mockImplementation(async ({ ResourceARN }: { ResourceARN: string }) => ({
      Tags: ResourceARN === serviceArn('srv-web') ? [{ Key: 'meshgate:expose', Value: 'true' }] : [],
    }));
    const snapshot = await source(['apps.local']).readFedBy({
      id: 'srv-web',
      arn: serviceArn('srv-web'),
      namespace: 'apps.local',
      service: 'web',
    });

    expect(snapshot.cloudMapServices.map((service) => service.name)).toEqual(['web']);
    expect(tagging.commandCalls(GetResourcesCommand)).toHaveLength(0);
    expect(cloudMap.listTagsForResource).toHaveBeenCalledTimes(1);
  });
});
