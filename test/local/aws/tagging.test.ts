import { CreateMeshCommand } from '@aws-sdk/client-app-mesh';
import {
  GetResourcesCommand,
  type GetResourcesCommandInput,
  paginateGetResources,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  GetOperationCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-servicediscovery';
import { beforeAll, describe, expect, it } from 'vitest';
import { useAwsDouble } from './double.js';

const aws = useAwsDouble();
let tagging: ResourceGroupsTaggingAPIClient;

beforeAll(() => {
  tagging = new ResourceGroupsTaggingAPIClient({
    endpoint: aws.double().url,
    region: aws.double().region,
    credentials: { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' },
    maxAttempts: 1,
  });
});

async function cloudMapServices(count: number, tags: (index: number) => Record<string, string>): Promise<string[]> {
  const cloudMap = aws.clients().serviceDiscovery;
  const { OperationId } = await cloudMap.send(new CreateHttpNamespaceCommand({ Name: 'apps.local' }));
  const { Operation } = await cloudMap.send(new GetOperationCommand({ OperationId }));
  const arns: string[] = [];
  for (let index = 0; index < count; index++) {
    const { Service } = await cloudMap.send(
      new CreateServiceCommand({
        Name: `svc-${index}`,
        NamespaceId: Operation?.Targets?.NAMESPACE,
        Tags: Object.entries(tags(index)).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    arns.push(Service?.Arn as string);
  }
  return arns;
}

async function allPages(input: GetResourcesCommandInput) {
  const mappings = [];
  let pages = 0;
  for await (const page of paginateGetResources({ client: tagging }, input)) {
    pages++;
    mappings.push(...(page.ResourceTagMappingList ?? []));
  }
  return { mappings, pages };
}

const exposeFilter = { ResourceTypeFilters: ['servicediscovery:service'], TagFilters: [{ Key: 'meshgate:expose' }] };

describe('Resource Groups Tagging API double: GetResources', () => {
  it('finds the services carrying a tag key (any value), page by page, with all their tags', async () => {
    const arns = await cloudMapServices(
      7,
      (index): Record<string, string> =>
        index % 3 === 0 ? { team: 'a' } : { 'meshgate:expose': index % 3 === 1 ? 'true' : 'false', team: 'b' },
    );
    await aws
      .clients()
      .appMesh.send(new CreateMeshCommand({ meshName: 'apps', tags: [{ key: 'meshgate:expose', value: 'true' }] }));

    const { mappings, pages } = await allPages({ ...exposeFilter, ResourcesPerPage: 2 });

    const tagged = arns.filter((_, index) => index % 3 !== 0).sort();
    expect(mappings.map((mapping) => mapping.ResourceARN)).toEqual(tagged);
    expect(pages).toBe(Math.ceil(tagged.length / 2));
    expect(mappings[0]?.Tags).toEqual(expect.arrayContaining([{ Key: 'team', Value: 'b' }]));
  });

  it('matches any of a key’s values, all filters at once, and a service without its resource type', async () => {
    await cloudMapServices(4, (index) => ({ 'meshgate:expose': String(index % 2 === 0), env: `e${index}` }));

    const both = await allPages({
      ResourceTypeFilters: ['servicediscovery'],
      TagFilters: [
        { Key: 'meshgate:expose', Values: ['true'] },
        { Key: 'env', Values: ['e0', 'e1', 'e2'] },
      ],
    });
    // Listed in ARN order; service ids are not in creation order.
    const envTags = both.mappings.flatMap((mapping) => mapping.Tags?.filter((tag) => tag.Key === 'env') ?? []);
    expect(envTags.sort((a, b) => String(a.Value).localeCompare(String(b.Value)))).toEqual([
      { Key: 'env', Value: 'e0' },
      { Key: 'env', Value: 'e2' },
    ]);
    const otherType = await allPages({
      ResourceTypeFilters: ['servicediscovery:namespace'],
      TagFilters: [{ Key: 'env' }],
    });
    expect(otherType.mappings).toEqual([]);
  });

  it('answers an empty PaginationToken on the last page and forgets untagged services', async () => {
    const [first] = await cloudMapServices(1, () => ({ 'meshgate:expose': 'true' }));
    const page = await tagging.send(new GetResourcesCommand(exposeFilter));
    expect(page).toMatchObject({ PaginationToken: '', ResourceTagMappingList: [{ ResourceARN: first }] });

    await aws
      .clients()
      .serviceDiscovery.send(new UntagResourceCommand({ ResourceARN: first, TagKeys: ['meshgate:expose'] }));
    expect((await tagging.send(new GetResourcesCommand(exposeFilter))).ResourceTagMappingList).toEqual([]);
  });

  it('refuses what AWS refuses with InvalidParameterException', async () => {
    await cloudMapServices(3, () => ({ 'meshgate:expose': 'true' }));
    const { PaginationToken } = await tagging.send(new GetResourcesCommand({ ...exposeFilter, ResourcesPerPage: 1 }));
    const refused = [
      { ...exposeFilter, ResourcesPerPage: 0 },
      { ...exposeFilter, ResourcesPerPage: 101 },
      {
        ResourceARNList: ['arn:aws:servicediscovery:us-east-1:123456789012:service/srv-x'],
        TagFilters: [{ Key: 'a' }],
      },
      { TagFilters: Array.from({ length: 51 }, (_, index) => ({ Key: `k${index}` })) },
      { TagFilters: [{ Key: 'k', Values: Array.from({ length: 21 }, (_, index) => `v${index}`) }] },
      { ...exposeFilter, PaginationToken: 'not-a-token' },
      // A token belongs to the request that issued it.
      { ResourceTypeFilters: ['servicediscovery'], PaginationToken },
    ];
    for (const input of refused) {
      await expect(tagging.send(new GetResourcesCommand(input)), JSON.stringify(input)).rejects.toMatchObject({
        name: 'InvalidParameterException',
        $metadata: { httpStatusCode: 400 },
      });
    }
  });
});
