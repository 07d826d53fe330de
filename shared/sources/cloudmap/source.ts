import {
  ListNamespacesCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  type NamespaceSummary,
  type ServiceDiscoveryClient,
  type ServiceSummary,
} from '@aws-sdk/client-servicediscovery';
import { mapLimit, paginate } from '../../concurrency.js';
import { ReadFailures, readAws } from '../errors.js';
import type { CloudMapService, CloudMapServiceRef, MeshSnapshot, MeshSource } from '../model.js';
import { discoverEndpoints } from './endpoints.js';

export interface CloudMapSourceOptions {
  /** Namespace names to read; empty means every namespace. */
  namespaces: readonly string[];
  client: ServiceDiscoveryClient;
  /** Most services read at once (each service's calls run one after another). */
  concurrency?: number;
  /** Items per List call (1-100); Cloud Map's default (100) when unset. */
  pageSize?: number;
}

export const CLOUD_MAP_SOURCE = 'cloudmap';
/** Tag (on the service) or attribute (on any instance, value `true`) that opts a service in to exposure. */
export const EXPOSE_KEY = 'meshgate:expose';
/** Port of an instance that has no AWS_INSTANCE_PORT. */
const DEFAULT_SERVICE_PORT = 80;
const DEFAULT_CONCURRENCY = 5;

/** Reads Cloud Map services opted in to exposure, with their instances. */
export class CloudMapSource implements MeshSource {
  readonly name = CLOUD_MAP_SOURCE;

  constructor(private readonly options: CloudMapSourceOptions) {}

  read(signal?: AbortSignal): Promise<MeshSnapshot> {
    return new CloudMapRead(this.options, signal).run();
  }

  /** The one service, when it is exposed (and in a namespace this source reads). */
  readFedBy(cloudMap: CloudMapServiceRef, signal?: AbortSignal): Promise<MeshSnapshot> {
    return new CloudMapRead(this.options, signal).runOne(cloudMap);
  }
}

interface ServiceInNamespace {
  namespace: string;
  service: ServiceSummary;
}

class CloudMapRead {
  private readonly failures: ReadFailures;
  private readonly client: ServiceDiscoveryClient;
  private readonly limit: number;

  constructor(
    private readonly options: CloudMapSourceOptions,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.client = options.client;
    this.limit = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.failures = new ReadFailures(CLOUD_MAP_SOURCE, signal);
  }

  async run(): Promise<MeshSnapshot> {
    const namespaces = await this.namespaces();
    const perNamespace = await mapLimit(namespaces, this.limit, (namespace) =>
      this.failures.attempt(`namespace/${namespace.Name}`, () => this.services(namespace)),
    );
    const services = await mapLimit(
      perNamespace.flatMap((services) => services ?? []),
      this.limit,
      (entry) =>
        this.failures.attempt(`namespace/${entry.namespace}/service/${entry.service.Name}`, () =>
          this.readService(entry),
        ),
    );
    return this.snapshot(services);
  }

  async runOne(cloudMap: CloudMapServiceRef): Promise<MeshSnapshot> {
    const { namespaces } = this.options;
    if (namespaces.length > 0 && !namespaces.includes(cloudMap.namespace)) return this.snapshot([]);
    const entry = {
      namespace: cloudMap.namespace,
      service: { Id: cloudMap.id, Arn: cloudMap.arn, Name: cloudMap.service },
    };
    const object = `namespace/${cloudMap.namespace}/service/${cloudMap.service}`;
    return this.snapshot([await this.failures.attempt(object, () => this.readService(entry))]);
  }

  private snapshot(services: (CloudMapService | undefined)[]): MeshSnapshot {
    return {
      gateways: [],
      gatewayRoutes: [],
      virtualServices: [],
      cloudMapServices: services.filter((service): service is CloudMapService => service !== undefined),
      failures: this.failures.failures,
    };
  }

  /** One Cloud Map call, named after its operation and object in any error. */
  private call<T>(operation: string, object: string, request: (signal?: AbortSignal) => Promise<T>): Promise<T> {
    return readAws(`Cloud Map ${operation} ${object}`, () => request(this.signal), this.signal);
  }

  /** The configured namespaces (a missing one is a recorded failure), or all. Failing to list them fails the read. */
  private async namespaces(): Promise<NamespaceSummary[]> {
    const all = await paginate<NamespaceSummary>(async (NextToken) => {
      const page = await this.call('ListNamespaces', 'namespaces', (abortSignal) =>
        this.client.send(new ListNamespacesCommand({ NextToken, MaxResults: this.options.pageSize }), { abortSignal }),
      );
      return { items: page.Namespaces, nextToken: page.NextToken };
    });
    if (this.options.namespaces.length === 0) return all;
    return this.options.namespaces.flatMap((name) => {
      const found = all.find((namespace) => namespace.Name === name);
      if (!found) {
        this.failures.recordAbsent(`namespace/${name}`, `namespace '${name}' (CLOUDMAP_NAMESPACES) does not exist`);
      }
      return found ? [found] : [];
    });
  }

  private async services(namespace: NamespaceSummary): Promise<ServiceInNamespace[]> {
    const namespaceName = namespace.Name ?? '';
    const services = await paginate<ServiceSummary>(async (NextToken) => {
      const page = await this.call('ListServices', `namespace/${namespaceName}`, (abortSignal) =>
        this.client.send(
          new ListServicesCommand({
            NextToken,
            MaxResults: this.options.pageSize,
            Filters: [{ Name: 'NAMESPACE_ID', Values: [namespace.Id ?? ''], Condition: 'EQ' }],
          }),
          { abortSignal },
        ),
      );
      return { items: page.Services, nextToken: page.NextToken };
    });
    return services.map((service) => ({ namespace: namespaceName, service }));
  }

  /**
   * A service is exposed when its tag `meshgate:expose` is set to anything but `false`, or, without that tag, when
   * any instance has the attribute `meshgate:expose=true`. The tag `false` is an explicit opt-out and wins.
   */
  private async readService({ namespace, service }: ServiceInNamespace): Promise<CloudMapService | undefined> {
    const name = service.Name ?? '';
    const object = `namespace/${namespace}/service/${name}`;
    const { Tags = [] } = await this.call('ListTagsForResource', object, (abortSignal) =>
      this.client.send(new ListTagsForResourceCommand({ ResourceARN: service.Arn }), { abortSignal }),
    );
    const tags = Object.fromEntries(Tags.map((tag) => [tag.Key ?? '', tag.Value ?? '']));
    const exposeTag = tags[EXPOSE_KEY];
    if (exposeTag === 'false') return undefined;
    const found = await discoverEndpoints(this.client, namespace, name, DEFAULT_SERVICE_PORT, this.signal);
    const optedInByAttribute = found.endpoints.some((endpoint) => endpoint.attributes[EXPOSE_KEY] === 'true');
    if (exposeTag === undefined && !optedInByAttribute) return undefined;
    for (const reason of found.skipped) this.failures.record(object, reason);
    return {
      id: service.Id ?? '',
      arn: service.Arn ?? '',
      namespace,
      name,
      tags,
      endpoints: found.endpoints,
    };
  }
}
