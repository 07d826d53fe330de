import { type AwsContext, AwsServiceError, type AwsServiceModule, PagedCollection } from '../protocol.js';
import { bindRequest, outputBody, routeOf } from './appmesh/model.js';
import {
  type Address,
  KINDS,
  nameMember,
  ownerKind,
  type Resource,
  type ResourceKind,
  ResourceStore,
} from './appmesh/store.js';

/**
 * App Mesh (REST-JSON, 2019-01-25): the seven resource kinds through one CRUD engine, plus tags. Routing, input
 * binding and validation come from the API model; each write is published on the double's CloudTrail stream.
 */
const API_VERSION = '2019-01-25';
const MAX_TAGS = 50;
const CRUD = /^(Create|Update|Describe|Delete|List)(\w+)$/;

type Input = Record<string, unknown>;
type Tag = { key: string; value: string };

export function createAppMeshService(): AwsServiceModule {
  let account = '';
  let region = '';
  const store = new ResourceStore(
    () => account,
    () => region,
  );

  function run(operation: string, input: Input): Record<string, unknown> {
    switch (operation) {
      case 'TagResource':
        addTags(resourceByArn(input).arn, input.tags as Tag[]);
        return {};
      case 'UntagResource': {
        const tags = store.tags.get(resourceByArn(input).arn);
        for (const key of input.tagKeys as string[]) tags?.delete(key);
        return {};
      }
      case 'ListTagsForResource': {
        const tags = store.tags.get(resourceByArn(input).arn);
        const page = tags?.page(limitOf(input, MAX_TAGS), nextTokenOf(input), invalidToken) ?? { items: [] };
        return { tags: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
      }
    }
    const [, verb, noun] = CRUD.exec(operation) ?? [];
    const kind = KINDS.find((candidate) => (verb === 'List' ? candidate.plural : candidate.noun) === noun);
    if (!verb || !kind) throw new AwsServiceError('BadRequestException', `Unsupported operation ${operation}.`, 400);
    if (input.meshOwner !== undefined && input.meshOwner !== account) {
      throw new AwsServiceError('NotFoundException', `Mesh owner ${String(input.meshOwner)} shares no mesh here.`, 404);
    }
    const address = addressOf(kind, input);
    switch (verb) {
      case 'Create': {
        const resource = store.create(kind, address, withDefaults(kind, input.spec), input.clientToken as string);
        if (input.tags) addTags(resource.arn, input.tags as Tag[]);
        return { [kind.member]: dataOf(resource, 'ACTIVE') };
      }
      case 'Update':
        return {
          [kind.member]: dataOf(
            store.update(kind, address, withDefaults(kind, input.spec), input.clientToken as string),
            'ACTIVE',
          ),
        };
      case 'Describe':
        return { [kind.member]: dataOf(store.get(kind, address), 'ACTIVE') };
      case 'Delete':
        return { [kind.member]: dataOf(store.delete(kind, address), 'DELETED') };
      default: {
        const page = store
          .collection(kind, address.meshName, address.parentName)
          .page(limitOf(input, 100), nextTokenOf(input), invalidToken);
        return {
          [lowerFirst(kind.plural)]: page.items.map(refOf),
          ...(page.nextToken ? { nextToken: page.nextToken } : {}),
        };
      }
    }
  }

  function resourceByArn(input: Input): Resource {
    const resource = store.byResourceArn(input.resourceArn as string);
    if (!resource) {
      throw new AwsServiceError('NotFoundException', `No resource has ARN '${String(input.resourceArn)}'.`, 404);
    }
    return resource;
  }

  function addTags(arn: string, tags: Tag[]): void {
    const current = store.tags.get(arn) ?? new PagedCollection<Tag>();
    store.tags.set(arn, current);
    const added = new Set(tags.map((tag) => tag.key).filter((key) => !current.get(key)));
    if (current.size + added.size > MAX_TAGS) {
      throw new AwsServiceError(
        'TooManyTagsException',
        `Resource '${arn}' would have ${current.size + added.size} tags; at most ${MAX_TAGS} are allowed.`,
        400,
      );
    }
    for (const tag of tags) current.set(tag.key, { key: tag.key, value: tag.value });
  }

  function metadataOf(resource: Resource) {
    return {
      arn: resource.arn,
      createdAt: resource.createdAt,
      lastUpdatedAt: resource.lastUpdatedAt,
      meshOwner: account,
      resourceOwner: account,
      uid: resource.uid,
      version: resource.version,
    };
  }

  function dataOf(resource: Resource, status: 'ACTIVE' | 'DELETED'): Record<string, unknown> {
    return {
      ...namesOf(resource),
      metadata: metadataOf(resource),
      spec: structuredClone(resource.spec),
      status: { status },
    };
  }

  function refOf(resource: Resource): Record<string, unknown> {
    const { uid: _uid, ...metadata } = metadataOf(resource);
    return { ...namesOf(resource), ...metadata };
  }

  return {
    signingName: 'appmesh',
    protocol: 'rest-json',
    operationOf: (request) => routeOf(request)?.operation,
    iamCall(request, where) {
      const route = routeOf(request);
      if (!route) return undefined;
      let input: Input = route.labels;
      try {
        input = bindRequest(request).input;
      } catch {
        // An invalid body: authorization still comes first, on what the path names.
      }
      return { action: `appmesh:${route.operation}`, resources: appMeshArns(input, where) };
    },
    reset: () => store.clear(),
    taggedResources: () =>
      [...store.tags]
        .filter(([, tags]) => tags.size > 0)
        .map(([arn, tags]) => ({ arn, tags: [...tags.values()].map(({ key, value }) => ({ key, value })) })),
    async handle(request, context: AwsContext) {
      account = context.account;
      region = context.region;
      const { operation, input } = bindRequest(request);
      const output = run(operation, input);
      if (!/^(Describe|List)/.test(operation)) {
        context.recordCall({
          eventSource: 'appmesh.amazonaws.com',
          eventName: operation,
          requestParameters: structuredClone(input),
          responseElements: Object.keys(output).length ? structuredClone(output) : null,
          apiVersion: API_VERSION,
        });
      }
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(outputBody(operation, output)),
      };
    },
  };
}

/** The mesh, the resource and its parent that an input names, as ARNs (or the `resourceArn` of tag calls). */
function appMeshArns(input: Input, where: { account: string; region: string }): string[] {
  if (typeof input.resourceArn === 'string') return [input.resourceArn];
  if (typeof input.meshName !== 'string') return [];
  const mesh = `arn:aws:appmesh:${where.region}:${where.account}:mesh/${input.meshName}`;
  const arns = [mesh];
  const name = (member: string) => (typeof input[`${member}Name`] === 'string' ? String(input[`${member}Name`]) : '');
  for (const [parent, child] of [
    ['virtualGateway', 'gatewayRoute'],
    ['virtualRouter', 'route'],
  ] as const) {
    if (!name(parent)) continue;
    arns.push(`${mesh}/${parent}/${name(parent)}`);
    if (name(child)) arns.push(`${mesh}/${parent}/${name(parent)}/${child}/${name(child)}`);
  }
  for (const member of ['virtualService', 'virtualNode'] as const) {
    if (name(member)) arns.push(`${mesh}/${member}/${name(member)}`);
  }
  return arns;
}

function addressOf(kind: ResourceKind, input: Input): Address {
  const owner = ownerKind(kind);
  const parentName = owner ? (input[nameMember(owner)] as string) : undefined;
  return { meshName: input.meshName as string, parentName, name: (input[nameMember(kind)] as string) ?? '' };
}

function namesOf(resource: Resource): Record<string, string> {
  const owner = ownerKind(resource.kind);
  return {
    meshName: resource.meshName,
    ...(owner ? { [nameMember(owner)]: resource.parentName ?? '' } : {}),
    [nameMember(resource.kind)]: resource.name,
  };
}

/** App Mesh fills a mesh's egress filter with DROP_ALL when none is given. */
function withDefaults(kind: ResourceKind, spec: unknown): Record<string, unknown> {
  const given = (spec ?? {}) as Record<string, unknown>;
  return kind.parent ? given : { egressFilter: { type: 'DROP_ALL' }, ...given };
}

function limitOf(input: Input, fallback: number): number {
  return (input.limit as number | undefined) ?? fallback;
}

function nextTokenOf(input: Input): string | undefined {
  return input.nextToken as string | undefined;
}

function invalidToken(): AwsServiceError {
  return new AwsServiceError('BadRequestException', 'The nextToken is not one this service issued.', 400);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
