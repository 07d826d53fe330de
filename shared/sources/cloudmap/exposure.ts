import {
  GetResourcesCommand,
  type ResourceGroupsTaggingAPIClient,
  type ResourceTagMapping,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { forEachPage } from '../../concurrency.js';
import { readAws } from '../errors.js';

/** Tag (on the service) that opts a Cloud Map service in to exposure; the value `false` opts it out. */
export const EXPOSE_KEY = 'meshgate:expose';
/** Cloud Map services, as the Resource Groups Tagging API names their resource type (`service[:resourceType]`). */
const SERVICE_RESOURCE_TYPE = 'servicediscovery:service';
/** GetResources' largest page. */
const RESOURCES_PER_PAGE = 100;

export type Tags = Record<string, string>;

export function tagsOf(list: readonly { Key?: string; Value?: string }[] | undefined): Tags {
  return Object.fromEntries((list ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

/** Whether a service with these tags is exposed: the tag `meshgate:expose` set to anything but `false`. */
export function isExposed(tags: Tags): boolean {
  const value = tags[EXPOSE_KEY];
  return value !== undefined && value !== 'false';
}

/**
 * The tags of every Cloud Map service in the account and region that carries `meshgate:expose` (any value), by
 * service ARN: one GetResources page per 100 such services, instead of one ListTagsForResource per service. The
 * Tagging API is eventually consistent (a tag set a moment ago may not show yet), so a scoped run, which reacts to
 * an event about one service, reads that service's tags directly instead. Any failure fails the read: without the
 * tags, no service can be told exposed or not, and an empty answer would look like "nothing exposed".
 */
export async function exposureTags(
  client: ResourceGroupsTaggingAPIClient,
  signal?: AbortSignal,
  /** Each page's services as it comes, by ARN. */
  onTags?: (arn: string, tags: Tags) => void,
): Promise<Map<string, Tags>> {
  const tagsByArn = new Map<string, Tags>();
  await forEachPage<ResourceTagMapping>(
    async (PaginationToken) => {
      const page = await readAws(
        'Resource Groups Tagging GetResources servicediscovery:service',
        () =>
          client.send(
            new GetResourcesCommand({
              ResourceTypeFilters: [SERVICE_RESOURCE_TYPE],
              TagFilters: [{ Key: EXPOSE_KEY }],
              ResourcesPerPage: RESOURCES_PER_PAGE,
              PaginationToken,
            }),
            { abortSignal: signal },
          ),
        signal,
      );
      return { items: page.ResourceTagMappingList, nextToken: page.PaginationToken };
    },
    (page) => {
      for (const mapping of page) {
        const arn = mapping.ResourceARN ?? '';
        const tags = tagsOf(mapping.Tags);
        tagsByArn.set(arn, tags);
        onTags?.(arn, tags);
      }
    },
  );
  return tagsByArn;
}
