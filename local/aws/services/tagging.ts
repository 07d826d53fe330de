import {
  type AwsContext,
  AwsServiceError,
  type AwsServiceModule,
  jsonService,
  type TaggedResource,
} from '../protocol.js';

/**
 * Resource Groups Tagging API (JSON 1.1, `ResourceGroupsTaggingAPI_20170126`): GetResources over the tags of the
 * double's other services (Cloud Map namespaces and services, App Mesh resources), with its filters, its limits and
 * its pagination. Listed: resources that carry at least one tag (AWS also lists resources that once had tags, with
 * an empty tag set). AWS's index is eventually consistent; this one is always current.
 */

/** GetResources' page when ResourcesPerPage is not given (AWS documents only the 1-100 range). */
const DEFAULT_RESOURCES_PER_PAGE = 100;
const MAX_TAG_FILTERS = 50;
const MAX_TAG_FILTER_VALUES = 20;
const MAX_RESOURCE_TYPE_FILTERS = 100;
const MAX_ARN_LIST = 100;

interface TagFilter {
  Key?: unknown;
  Values?: unknown;
}

/** What a pagination token remembers: the last ARN served and the request it belongs to. */
interface Cursor {
  after: string;
  request: string;
}

function invalid(message: string): AwsServiceError {
  return new AwsServiceError('InvalidParameterException', message);
}

function stringList(value: unknown, member: string, max: number): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw invalid(`${member} must be a list of strings`);
  }
  if (value.length > max) throw invalid(`${member} can have at most ${max} items, got ${value.length}`);
  return value as string[];
}

function tagFilters(value: unknown): { key: string; values: string[] | undefined }[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid('TagFilters must be a list');
  if (value.length > MAX_TAG_FILTERS) {
    throw invalid(`TagFilters can have at most ${MAX_TAG_FILTERS} keys, got ${value.length}`);
  }
  return (value as TagFilter[]).map((filter) => {
    if (typeof filter?.Key !== 'string' || filter.Key.length < 1 || filter.Key.length > 128) {
      throw invalid('Each TagFilter needs a Key of 1 to 128 characters');
    }
    const values = stringList(filter.Values, `TagFilter '${filter.Key}' Values`, MAX_TAG_FILTER_VALUES);
    return { key: filter.Key, values: values?.length ? values : undefined };
  });
}

/** `service[:resourceType]` of an ARN, the form ResourceTypeFilters name (e.g. `servicediscovery:service`). */
function resourceTypeOf(arn: string): { service: string; type: string } {
  const [, , service = '', , , ...rest] = arn.split(':');
  const resource = rest.join(':');
  return { service, type: resource.split(/[/:]/)[0] ?? '' };
}

function matchesType(arn: string, filters: readonly string[]): boolean {
  const { service, type } = resourceTypeOf(arn);
  return filters.some((filter) => {
    const [filterService, filterType] = filter.split(':');
    return filterService === service && (filterType === undefined || filterType === type);
  });
}

function matchesTags(resource: TaggedResource, filters: ReturnType<typeof tagFilters>): boolean {
  return filters.every((filter) =>
    resource.tags.some((tag) => tag.key === filter.key && (!filter.values || filter.values.includes(tag.value))),
  );
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(token: string, request: string): Cursor {
  let cursor: Partial<Cursor> | undefined;
  try {
    cursor = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Cursor>;
  } catch {
    cursor = undefined;
  }
  if (typeof cursor?.after !== 'string' || typeof cursor.request !== 'string') {
    throw invalid('The PaginationToken is not one this service issued');
  }
  // AWS requires the same parameters on every page of one listing.
  if (cursor.request !== request) throw invalid('The PaginationToken belongs to a request with other parameters');
  return cursor as Cursor;
}

export function createTaggingService(): AwsServiceModule {
  function getResources(input: Record<string, unknown>, context: AwsContext): object {
    const arnList = stringList(input.ResourceARNList, 'ResourceARNList', MAX_ARN_LIST);
    const typeFilters = stringList(input.ResourceTypeFilters, 'ResourceTypeFilters', MAX_RESOURCE_TYPE_FILTERS);
    const filters = tagFilters(input.TagFilters);
    if (arnList && (typeFilters || input.TagFilters !== undefined)) {
      throw invalid('ResourceARNList cannot be combined with TagFilters or ResourceTypeFilters');
    }
    if (typeFilters?.some((filter) => !/^[a-z0-9-]+(:[A-Za-z0-9-]+)?$/.test(filter))) {
      throw invalid('Each ResourceTypeFilter has the form service[:resourceType]');
    }
    const perPage = input.ResourcesPerPage ?? DEFAULT_RESOURCES_PER_PAGE;
    if (typeof perPage !== 'number' || !Number.isInteger(perPage) || perPage < 1 || perPage > 100) {
      throw invalid(`ResourcesPerPage must be between 1 and 100, got ${String(perPage)}`);
    }
    const tagsPerPage = input.TagsPerPage;
    if (tagsPerPage !== undefined && (typeof tagsPerPage !== 'number' || tagsPerPage < 100 || tagsPerPage > 500)) {
      throw invalid(`TagsPerPage must be between 100 and 500, got ${String(tagsPerPage)}`);
    }
    const request = JSON.stringify([arnList, typeFilters, filters]);
    const token = typeof input.PaginationToken === 'string' && input.PaginationToken ? input.PaginationToken : '';
    const after = token ? decodeCursor(token, request).after : undefined;

    const all = (['appmesh', 'servicediscovery'] as const)
      .flatMap((name) => context.service<AwsServiceModule>(name).taggedResources?.() ?? [])
      .filter((resource) => (arnList ? arnList.includes(resource.arn) : true))
      .filter((resource) => !typeFilters || matchesType(resource.arn, typeFilters))
      .filter((resource) => matchesTags(resource, filters))
      // A stable order, so that a token resumes after the last ARN served even if resources came or went.
      .sort((a, b) => (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0));
    const start = after === undefined ? 0 : all.findIndex((resource) => resource.arn > after);
    const page = start < 0 ? [] : all.slice(start, start + perPage);
    const last = page.at(-1);
    const more = start >= 0 && start + perPage < all.length && last !== undefined;
    return {
      // AWS answers an empty token on the last page.
      PaginationToken: more ? encodeCursor({ after: last.arn, request }) : '',
      ResourceTagMappingList: page.map((resource) => ({
        ResourceARN: resource.arn,
        Tags: resource.tags.map((tag) => ({ Key: tag.key, Value: tag.value })),
      })),
    };
  }

  // Signed as `tagging`, authorized as `tag:GetResources` (no resource-level permissions: "*").
  return jsonService('tagging', { GetResources: getResources }, () => {}, { resources: () => [], iamPrefix: 'tag' });
}
