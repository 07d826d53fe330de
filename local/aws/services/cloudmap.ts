import { randomBytes } from 'node:crypto';
import { type AwsContext, AwsServiceError, jsonService, PagedCollection } from '../protocol.js';
import { type CloudMapInput, type CloudMapOperation, parseInput } from './cloudmap/schemas.js';

/**
 * Cloud Map (JSON 1.1, `Route53AutoNaming_v20170314`): HTTP and private DNS namespaces, services, instances with
 * health, operations and tags. Asynchronous operations complete at once; GetOperation reports them as SUCCESS.
 */
type Tag = { Key: string; Value: string };
type Health = 'HEALTHY' | 'UNHEALTHY';

interface Namespace {
  Id: string;
  Arn: string;
  Name: string;
  Type: 'HTTP' | 'DNS_PRIVATE';
  Description?: string;
  Properties: Record<string, unknown>;
  CreateDate: number;
  CreatorRequestId?: string;
  operationId: string;
  services: PagedCollection<Service>;
}

interface Service {
  Id: string;
  Arn: string;
  Name: string;
  NamespaceId: string;
  Description?: string;
  Type: 'HTTP' | 'DNS_HTTP';
  DnsConfig?: Record<string, unknown>;
  HealthCheckConfig?: Record<string, unknown>;
  HealthCheckCustomConfig?: Record<string, unknown>;
  CreateDate: number;
  CreatorRequestId?: string;
  instances: PagedCollection<Instance>;
  /** Bumped on every change to the instances, as DiscoverInstances' `InstancesRevision`. */
  revision: number;
}

interface Instance {
  Id: string;
  Attributes: Record<string, string>;
  CreatorRequestId?: string;
  health: Health;
}

interface Operation {
  Id: string;
  Type: string;
  Status: 'SUBMITTED' | 'PENDING' | 'SUCCESS';
  CreateDate: number;
  UpdateDate: number;
  Targets: Record<string, string>;
}

/** Operations that change state: each is published on the CloudTrail stream. */
const WRITES = new Set<CloudMapOperation>([
  'CreateHttpNamespace',
  'CreatePrivateDnsNamespace',
  'DeleteNamespace',
  'CreateService',
  'DeleteService',
  'RegisterInstance',
  'DeregisterInstance',
  'UpdateInstanceCustomHealthStatus',
  'TagResource',
  'UntagResource',
]);

/** Map-typed members whose keys are data (attribute names), not member names to lower-camel. */
const MAP_MEMBERS = new Set(['Attributes', 'QueryParameters', 'OptionalParameters', 'Targets']);

export function createCloudMapService() {
  const namespaces = new PagedCollection<Namespace>();
  const namespaceIdsByName = new Map<string, string>();
  const services = new PagedCollection<Service>();
  const operations = new Map<string, Operation>();
  const tagsByArn = new Map<string, Map<string, string>>();
  // Registrations are asynchronous on AWS: the call answers an OperationId, and the instance shows (or goes) later.
  let operationDelayMs = 0;
  const timers = new Set<NodeJS.Timeout>();

  function reset(): void {
    operationDelayMs = 0;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    namespaces.clear();
    namespaceIdsByName.clear();
    services.clear();
    operations.clear();
    tagsByArn.clear();
  }

  function startOperation(type: string, targets: Record<string, string>, apply: () => void = () => {}): string {
    const now = Date.now() / 1000;
    const id = `${randomId(32)}-${randomId(8)}`;
    const operation: Operation = {
      Id: id,
      Type: type,
      Status: 'SUCCESS',
      CreateDate: now,
      UpdateDate: now,
      Targets: targets,
    };
    operations.set(id, operation);
    if (operationDelayMs <= 0) {
      apply();
      return id;
    }
    // SUBMITTED, then PENDING halfway, then the change is made and the operation is SUCCESS.
    operation.Status = 'SUBMITTED';
    const step = (delay: number, work: () => void) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        work();
        operation.UpdateDate = Date.now() / 1000;
      }, delay);
      timers.add(timer);
    };
    step(operationDelayMs / 2, () => {
      operation.Status = 'PENDING';
    });
    step(operationDelayMs, () => {
      apply();
      operation.Status = 'SUCCESS';
    });
    return id;
  }

  function namespaceById(id: string): Namespace {
    const namespace = namespaces.get(id);
    if (!namespace) throw new AwsServiceError('NamespaceNotFound', `No namespace exists with the ID ${id}.`);
    return namespace;
  }

  function serviceById(id: string): Service {
    const service = services.get(id);
    if (!service) throw new AwsServiceError('ServiceNotFound', `No service exists with the ID ${id}.`);
    return service;
  }

  function instanceOf(service: Service, id: string): Instance {
    const instance = service.instances.get(id);
    if (!instance) {
      throw new AwsServiceError('InstanceNotFound', `No instance ${id} is registered with service ${service.Id}.`);
    }
    return instance;
  }

  function createNamespace(
    input: CloudMapInput<'CreateHttpNamespace'>,
    type: Namespace['Type'],
    properties: Record<string, unknown>,
    account: string,
    region: string,
  ): { OperationId: string } {
    const existingId = namespaceIdsByName.get(input.Name);
    if (existingId) {
      const existing = namespaceById(existingId);
      // A retried request (same creator request id) answers the operation it started the first time.
      if (input.CreatorRequestId && existing.CreatorRequestId === input.CreatorRequestId) {
        return { OperationId: existing.operationId };
      }
      throw new AwsServiceError('NamespaceAlreadyExists', `Namespace ${input.Name} already exists.`, 400, {
        NamespaceId: existing.Id,
        ...(existing.CreatorRequestId ? { CreatorRequestId: existing.CreatorRequestId } : {}),
      });
    }
    const id = `ns-${randomId(16)}`;
    const operationId = startOperation('CREATE_NAMESPACE', { NAMESPACE: id });
    const namespace: Namespace = {
      Id: id,
      Arn: `arn:aws:servicediscovery:${region}:${account}:namespace/${id}`,
      Name: input.Name,
      Type: type,
      ...(input.Description ? { Description: input.Description } : {}),
      Properties: properties,
      CreateDate: Date.now() / 1000,
      ...(input.CreatorRequestId ? { CreatorRequestId: input.CreatorRequestId } : {}),
      operationId,
      services: new PagedCollection<Service>(),
    };
    namespaces.set(id, namespace);
    namespaceIdsByName.set(input.Name, id);
    setTags(namespace.Arn, input.Tags);
    return { OperationId: operationId };
  }

  /** Every namespace and service has a tag map from creation, so an unknown ARN is one without a map. */
  function tagsOf(arn: string): Map<string, string> {
    const tags = tagsByArn.get(arn);
    if (!tags) throw new AwsServiceError('ResourceNotFoundException', `No namespace or service has ARN ${arn}.`);
    return tags;
  }

  function setTags(arn: string, tags: Tag[] = []): void {
    const current = tagsByArn.get(arn) ?? new Map<string, string>();
    for (const tag of tags) current.set(tag.Key, tag.Value);
    tagsByArn.set(arn, current);
  }

  const handlers: { [Op in CloudMapOperation]: (input: CloudMapInput<Op>, context: AwsContext) => object } = {
    CreateHttpNamespace: (input, { account, region }) =>
      createNamespace(input, 'HTTP', { DnsProperties: {}, HttpProperties: { HttpName: input.Name } }, account, region),
    CreatePrivateDnsNamespace: (input, { account, region }) =>
      createNamespace(
        input,
        'DNS_PRIVATE',
        {
          DnsProperties: { HostedZoneId: `Z${randomId(20).toUpperCase()}`, ...input.Properties?.DnsProperties },
          HttpProperties: { HttpName: input.Name },
        },
        account,
        region,
      ),
    GetNamespace: (input) => ({ Namespace: namespaceView(namespaceById(input.Id)) }),
    DeleteNamespace: (input) => {
      const namespace = namespaceById(input.Id);
      if (namespace.services.size > 0) {
        throw new AwsServiceError(
          'ResourceInUse',
          `Namespace ${namespace.Id} still has ${namespace.services.size} services.`,
        );
      }
      namespaces.delete(namespace.Id);
      namespaceIdsByName.delete(namespace.Name);
      tagsByArn.delete(namespace.Arn);
      return { OperationId: startOperation('DELETE_NAMESPACE', { NAMESPACE: namespace.Id }) };
    },
    ListNamespaces: (input) => {
      const filters = input.Filters ?? [];
      const matching = filters.length
        ? collectionOf(
            [...namespaces.values()].filter((namespace) =>
              filters.every((filter) =>
                matchesFilter(
                  filter.Name === 'TYPE' ? namespace.Type : namespace.Name,
                  filter.Values,
                  filter.Condition ?? 'EQ',
                ),
              ),
            ),
          )
        : namespaces;
      const page = matching.page(input.MaxResults ?? 100, input.NextToken, invalidToken);
      return { Namespaces: page.items.map(namespaceSummary), ...nextTokenOf(page) };
    },
    CreateService: (input, { account, region }) => {
      const namespaceId = input.NamespaceId ?? input.DnsConfig?.NamespaceId;
      if (!namespaceId) throw new AwsServiceError('InvalidInput', 'Invalid value for NamespaceId (missing): required.');
      const namespace = namespaceById(namespaceId);
      const existing = namespace.services.get(input.Name);
      if (existing) {
        throw new AwsServiceError('ServiceAlreadyExists', `Service ${input.Name} already exists.`, 400, {
          ServiceId: existing.Id,
          ...(existing.CreatorRequestId ? { CreatorRequestId: existing.CreatorRequestId } : {}),
        });
      }
      const id = `srv-${randomId(16)}`;
      const service: Service = {
        Id: id,
        Arn: `arn:aws:servicediscovery:${region}:${account}:service/${id}`,
        Name: input.Name,
        NamespaceId: namespace.Id,
        ...(input.Description ? { Description: input.Description } : {}),
        Type: input.Type ?? (input.DnsConfig ? 'DNS_HTTP' : 'HTTP'),
        ...(input.DnsConfig ? { DnsConfig: { NamespaceId: namespace.Id, ...input.DnsConfig } } : {}),
        ...(input.HealthCheckConfig ? { HealthCheckConfig: input.HealthCheckConfig } : {}),
        ...(input.HealthCheckCustomConfig ? { HealthCheckCustomConfig: input.HealthCheckCustomConfig } : {}),
        CreateDate: Date.now() / 1000,
        ...(input.CreatorRequestId ? { CreatorRequestId: input.CreatorRequestId } : {}),
        instances: new PagedCollection<Instance>(),
        revision: 0,
      };
      // Keyed by name inside the namespace (names are unique there) and by id across the account.
      namespace.services.set(service.Name, service);
      services.set(id, service);
      setTags(service.Arn, input.Tags);
      return { Service: serviceView(service) };
    },
    GetService: (input) => ({ Service: serviceView(serviceById(input.Id)) }),
    DeleteService: (input) => {
      const service = serviceById(input.Id);
      if (service.instances.size > 0) {
        throw new AwsServiceError(
          'ResourceInUse',
          `Service ${service.Id} still has ${service.instances.size} instances.`,
        );
      }
      services.delete(service.Id);
      namespaces.get(service.NamespaceId)?.services.delete(service.Name);
      tagsByArn.delete(service.Arn);
      return {};
    },
    ListServices: (input) => {
      const filter = input.Filters?.[0];
      if (filter && ((filter.Condition ?? 'EQ') !== 'EQ' || filter.Values.length !== 1)) {
        throw new AwsServiceError(
          'InvalidInput',
          `Invalid value for 'Filters.0' (${JSON.stringify(filter)}): NAMESPACE_ID takes condition EQ and one value.`,
        );
      }
      const namespaceId = filter?.Values[0];
      const scope = namespaceId === undefined ? services : (namespaces.get(namespaceId)?.services ?? collectionOf([]));
      const page = scope.page(input.MaxResults ?? 100, input.NextToken, invalidToken);
      return { Services: page.items.map(serviceSummary), ...nextTokenOf(page) };
    },
    RegisterInstance: (input) => {
      const service = serviceById(input.ServiceId);
      const initial = input.Attributes.AWS_INIT_HEALTH_STATUS;
      if (initial !== undefined && initial !== 'HEALTHY' && initial !== 'UNHEALTHY') {
        throw new AwsServiceError(
          'InvalidInput',
          `Invalid value for 'Attributes.AWS_INIT_HEALTH_STATUS' (${JSON.stringify(initial)}): HEALTHY or UNHEALTHY.`,
        );
      }
      const instance: Instance = {
        Id: input.InstanceId,
        Attributes: { ...input.Attributes },
        ...(input.CreatorRequestId ? { CreatorRequestId: input.CreatorRequestId } : {}),
        health: initial ?? 'HEALTHY',
      };
      return {
        OperationId: startOperation('REGISTER_INSTANCE', { INSTANCE: input.InstanceId, SERVICE: service.Id }, () => {
          service.instances.set(input.InstanceId, instance);
          service.revision += 1;
        }),
      };
    },
    DeregisterInstance: (input) => {
      const service = serviceById(input.ServiceId);
      instanceOf(service, input.InstanceId);
      return {
        OperationId: startOperation('DEREGISTER_INSTANCE', { INSTANCE: input.InstanceId, SERVICE: service.Id }, () => {
          if (service.instances.delete(input.InstanceId)) service.revision += 1;
        }),
      };
    },
    GetInstance: (input) => {
      const instance = instanceOf(serviceById(input.ServiceId), input.InstanceId);
      return { Instance: instanceView(instance) };
    },
    ListInstances: (input) => {
      const page = serviceById(input.ServiceId).instances.page(input.MaxResults ?? 100, input.NextToken, invalidToken);
      return {
        Instances: page.items.map((instance) => ({ Id: instance.Id, Attributes: { ...instance.Attributes } })),
        ...nextTokenOf(page),
      };
    },
    DiscoverInstances: (input) => {
      const namespaceId = namespaceIdsByName.get(input.NamespaceName);
      if (!namespaceId) throw new AwsServiceError('NamespaceNotFound', `No namespace is named ${input.NamespaceName}.`);
      const service = namespaceById(namespaceId).services.get(input.ServiceName);
      if (!service) {
        throw new AwsServiceError('ServiceNotFound', `No service ${input.ServiceName} in ${input.NamespaceName}.`);
      }
      const checked = isHealthChecked(service);
      let instances = [...service.instances.values()].filter((instance) =>
        matchesAll(instance.Attributes, input.QueryParameters ?? {}),
      );
      const optional = instances.filter((instance) => matchesAll(instance.Attributes, input.OptionalParameters ?? {}));
      if (optional.length > 0) instances = optional;
      if (checked) instances = byHealth(instances, input.HealthStatus ?? 'HEALTHY');
      return {
        Instances: instances.slice(0, input.MaxResults ?? 100).map((instance) => ({
          InstanceId: instance.Id,
          NamespaceName: input.NamespaceName,
          ServiceName: input.ServiceName,
          HealthStatus: checked ? instance.health : 'UNKNOWN',
          Attributes: { ...instance.Attributes },
        })),
        InstancesRevision: service.revision,
      };
    },
    UpdateInstanceCustomHealthStatus: (input) => {
      const service = serviceById(input.ServiceId);
      const instance = instanceOf(service, input.InstanceId);
      if (!service.HealthCheckCustomConfig) {
        throw new AwsServiceError(
          'CustomHealthNotFound',
          `Service ${service.Id} has no custom health check (HealthCheckCustomConfig).`,
        );
      }
      if (instance.health !== input.Status) service.revision += 1;
      instance.health = input.Status;
      return {};
    },
    GetOperation: (input) => {
      const operation = operations.get(input.OperationId);
      if (!operation) throw new AwsServiceError('OperationNotFound', `No operation has the ID ${input.OperationId}.`);
      return { Operation: { ...operation, Targets: { ...operation.Targets } } };
    },
    TagResource: (input) => {
      tagsOf(input.ResourceARN);
      setTags(input.ResourceARN, input.Tags);
      return {};
    },
    UntagResource: (input) => {
      const tags = tagsOf(input.ResourceARN);
      for (const key of input.TagKeys) tags.delete(key);
      return {};
    },
    ListTagsForResource: (input) => ({
      Tags: [...tagsOf(input.ResourceARN)].map(([Key, Value]) => ({ Key, Value })),
    }),
  };

  const served = Object.fromEntries(
    (Object.keys(handlers) as CloudMapOperation[]).map((operation) => [
      operation,
      (raw: Record<string, unknown>, context: AwsContext) => {
        const input = parseInput(operation, raw);
        const output = (handlers[operation] as (input: unknown, context: AwsContext) => object)(input, context);
        if (WRITES.has(operation)) {
          context.recordCall({
            eventSource: 'servicediscovery.amazonaws.com',
            eventName: operation,
            requestParameters: lowerCamelMembers(raw) as Record<string, unknown>,
            responseElements: Object.keys(output).length
              ? (lowerCamelMembers(output) as Record<string, unknown>)
              : null,
          });
        }
        return output;
      },
    ]),
  );
  /** The namespace and service ARNs an input names (by id, by ARN, or through an operation's targets). */
  function iamResources(
    _operation: string,
    input: Record<string, unknown>,
    where: Pick<AwsContext, 'account' | 'region'>,
  ) {
    const arn = (id: string) =>
      `arn:aws:servicediscovery:${where.region}:${where.account}:${id.startsWith('ns-') ? 'namespace' : 'service'}/${id}`;
    const ids = [input.Id, input.ServiceId, input.NamespaceId].filter((id): id is string => typeof id === 'string');
    const targets = typeof input.OperationId === 'string' ? operations.get(input.OperationId)?.Targets : undefined;
    if (targets?.NAMESPACE) ids.push(targets.NAMESPACE);
    if (targets?.SERVICE) ids.push(targets.SERVICE);
    // DiscoverInstances names both by name (an unknown name is authorized on its name; the call then fails).
    if (typeof input.NamespaceName === 'string') {
      const namespaceId = namespaceIdsByName.get(input.NamespaceName);
      ids.push(namespaceId ?? `ns-${input.NamespaceName}`);
      const service =
        namespaceId && typeof input.ServiceName === 'string'
          ? namespaces.get(namespaceId)?.services.get(input.ServiceName)
          : undefined;
      if (typeof input.ServiceName === 'string') ids.push(service?.Id ?? `srv-${input.ServiceName}`);
    }
    const arns = ids.map(arn);
    if (typeof input.ResourceARN === 'string') arns.push(input.ResourceARN);
    return arns;
  }

  return Object.assign(jsonService('servicediscovery', served, reset, { resources: iamResources }), {
    /** Makes RegisterInstance / DeregisterInstance take effect `ms` after the call (0, the default: at once). */
    setOperationDelay(ms: number) {
      operationDelayMs = ms;
    },
    // Every namespace and service has a (possibly empty) tag map from creation; only those with tags are listed.
    taggedResources: () =>
      [...tagsByArn]
        .filter(([, tags]) => tags.size > 0)
        .map(([arn, tags]) => ({ arn, tags: [...tags].map(([key, value]) => ({ key, value })) })),
  });
}

export type CloudMapService = ReturnType<typeof createCloudMapService>;

function namespaceSummary(namespace: Namespace): Record<string, unknown> {
  const { CreatorRequestId: _creator, ...summary } = namespaceView(namespace);
  return summary;
}

function namespaceView(namespace: Namespace): Record<string, unknown> {
  const { operationId: _operation, services, ...view } = namespace;
  return { ...structuredClone(view), ServiceCount: services.size };
}

function serviceSummary(service: Service): Record<string, unknown> {
  const { CreatorRequestId: _creator, NamespaceId: _namespace, ...summary } = serviceView(service);
  return summary;
}

function serviceView(service: Service): Record<string, unknown> {
  const { instances, revision: _revision, ...view } = service;
  return { ...structuredClone(view), InstanceCount: instances.size };
}

function instanceView(instance: Instance): Record<string, unknown> {
  return {
    Id: instance.Id,
    Attributes: { ...instance.Attributes },
    ...(instance.CreatorRequestId ? { CreatorRequestId: instance.CreatorRequestId } : {}),
  };
}

function isHealthChecked(service: Service): boolean {
  return Boolean(service.HealthCheckConfig || service.HealthCheckCustomConfig);
}

function byHealth(instances: Instance[], filter: 'HEALTHY' | 'UNHEALTHY' | 'ALL' | 'HEALTHY_OR_ELSE_ALL'): Instance[] {
  if (filter === 'ALL') return instances;
  const wanted: Health = filter === 'UNHEALTHY' ? 'UNHEALTHY' : 'HEALTHY';
  const matching = instances.filter((instance) => instance.health === wanted);
  return filter === 'HEALTHY_OR_ELSE_ALL' && matching.length === 0 ? instances : matching;
}

function matchesAll(attributes: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([key, value]) => attributes[key] === value);
}

function matchesFilter(actual: string, values: string[], condition: string): boolean {
  if (condition === 'BEGINS_WITH') return values.some((value) => actual.startsWith(value));
  return values.includes(actual);
}

function collectionOf<T extends { Id: string }>(items: T[]): PagedCollection<T> {
  const collection = new PagedCollection<T>();
  for (const item of items) collection.set(item.Id, item);
  return collection;
}

function nextTokenOf(page: { nextToken?: string }): { NextToken?: string } {
  return page.nextToken ? { NextToken: page.nextToken } : {};
}

function invalidToken(): AwsServiceError {
  return new AwsServiceError('InvalidInput', 'The NextToken is not one this service issued.');
}

function randomId(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/** CloudTrail names Cloud Map members in lowerCamel (`ServiceId` → `serviceId`); attribute maps keep their keys. */
function lowerCamelMembers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerCamelMembers);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, member]) => [
      key.charAt(0).toLowerCase() + key.slice(1),
      MAP_MEMBERS.has(key) ? structuredClone(member) : lowerCamelMembers(member),
    ]),
  );
}
