import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { NamespaceSummary, ServiceSummary } from '@aws-sdk/client-servicediscovery';
import type { CloudMapReads } from '../../aws/cloud-map-reads.js';
import { forEachPage, mapLimit, paginate, TokenBucket } from '../../concurrency.js';
import { ReadFailures, readAws } from '../errors.js';
import type { CloudMapService, CloudMapServiceRef, MeshSnapshot, MeshSource, ReadFailure } from '../model.js';
import { discoverEndpoints } from './endpoints.js';
import { exposureTags, isExposed, type Tags, tagsOf } from './exposure.js';

export { EXPOSE_KEY } from './exposure.js';

export interface CloudMapSourceOptions {
  /** Namespace names to read; empty means every namespace. */
  namespaces: readonly string[];
  client: CloudMapReads;
  /** Finds the exposed services' tags in a few paged calls (full reads only). */
  tagging: ResourceGroupsTaggingAPIClient;
  /** Most DiscoverInstances calls in flight at once. */
  concurrency?: number;
  /** Paces DiscoverInstances to Cloud Map's quota; the process's one (DISCOVER_INSTANCES_QUOTA) by default. */
  quota?: TokenBucket;
  /** Items per List call (1-100); Cloud Map's default (100) when unset. */
  pageSize?: number;
}

export const CLOUD_MAP_SOURCE = 'cloudmap';
/** Port of an instance that has no AWS_INSTANCE_PORT. */
const DEFAULT_SERVICE_PORT = 80;
/**
 * Cloud Map's DiscoverInstances quota, per account and region: a token bucket of 2,000 refilled at 1,000 per second
 * (Cloud Map developer guide, "DiscoverInstances API request throttling"). meshgate paces its own calls to it, one
 * bucket per process: a read of up to ≈ 2,000 exposed services runs on the burst, a larger one at the refill rate,
 * never into throttling and the retries' backoff. See docs/performance.md.
 */
export const DISCOVER_INSTANCES_QUOTA = new TokenBucket({ capacity: 2000, refillPerSecond: 1000 });
/**
 * DiscoverInstances in flight at once: 40 at a 20 ms round trip is the burst's pace (2,000 per second), so the
 * quota, not the round trip, bounds a large read.
 */
const DEFAULT_CONCURRENCY = 40;

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

type ExposedEntry = ServiceInNamespace & { tags: Tags };

/** What one service's instance read found, and the failures it met (not yet counted). */
interface EarlyRead {
  service: CloudMapService | undefined;
  failures: ReadFailure[];
}

class CloudMapRead {
  private readonly failures: ReadFailures;
  private readonly client: CloudMapReads;
  private readonly limit: number;

  constructor(
    private readonly options: CloudMapSourceOptions,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.client = options.client;
    this.limit = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.failures = new ReadFailures(CLOUD_MAP_SOURCE, signal);
  }

  /**
   * The services of the namespaces (ListServices pages) and the exposed services' tags (GetResources pages) in
   * parallel, and DiscoverInstances for the exposed ones only (one call per exposed service), each started as soon as
   * both its listing and its tags have come: the instance reads overlap the paging (on AWS, ten pages of each list
   * are ten sequential round trips). What a read found counts only once the paging is done, for the services it
   * confirmed: a namespace whose listing failed keeps all it had, as if none of its services had been read.
   */
  async run(): Promise<MeshSnapshot> {
    const namespaces = await this.namespaces();
    const early = new EarlyReads(this.limit, (entry) => this.readInstancesAlone(entry));
    const listed = new Map<string, ServiceInNamespace>();
    const tagged = new Map<string, Tags>();
    const match = (arn: string) => {
      const entry = listed.get(arn);
      const tags = tagged.get(arn);
      if (entry && tags && isExposed(tags)) early.start(arn, { ...entry, tags });
    };
    const [perNamespace, tagsByArn] = await Promise.all([
      mapLimit(namespaces, this.limit, (namespace) =>
        this.failures.attempt(`namespace/${namespace.Name}`, () =>
          this.services(namespace, (entry) => {
            listed.set(entry.service.Arn ?? '', entry);
            match(entry.service.Arn ?? '');
          }),
        ),
      ),
      exposureTags(this.options.tagging, this.signal, (arn, tags) => {
        tagged.set(arn, tags);
        match(arn);
      }),
    ]).then(
      (lists) => {
        early.close();
        return lists;
      },
      (error: unknown) => {
        // The read fails as a whole: reads not yet started never will.
        early.close({ dropQueued: true });
        throw error;
      },
    );
    const exposed = perNamespace.flatMap((services) =>
      (services ?? []).flatMap((entry) => {
        const tags = tagsByArn.get(entry.service.Arn ?? '');
        return tags && isExposed(tags) ? [{ ...entry, tags }] : [];
      }),
    );
    const services: (CloudMapService | undefined)[] = [];
    for (const entry of exposed) {
      const read = await early.result(entry.service.Arn ?? '');
      this.failures.failures.push(...read.failures);
      services.push(read.service);
    }
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
    return this.snapshot([await this.failures.attempt(object, () => this.readOne(entry))]);
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

  /** One Cloud Map call, named after its operation and object in any error; an abort ends the request too. */
  private call<T>(operation: string, object: string, request: (signal?: AbortSignal) => Promise<T>): Promise<T> {
    return readAws(`Cloud Map ${operation} ${object}`, () => request(this.signal), this.signal);
  }

  /** The configured namespaces (a missing one is a recorded failure), or all. Failing to list them fails the read. */
  private async namespaces(): Promise<NamespaceSummary[]> {
    const all = await paginate<NamespaceSummary>(async (NextToken) => {
      const page = await this.call('ListNamespaces', 'namespaces', (signal) =>
        this.client.listNamespaces({ NextToken, MaxResults: this.options.pageSize }, signal),
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

  private async services(
    namespace: NamespaceSummary,
    onService?: (entry: ServiceInNamespace) => void,
  ): Promise<ServiceInNamespace[]> {
    const namespaceName = namespace.Name ?? '';
    const entries: ServiceInNamespace[] = [];
    await forEachPage<ServiceSummary>(
      async (NextToken) => {
        const page = await this.call('ListServices', `namespace/${namespaceName}`, (signal) =>
          this.client.listServices(
            {
              NextToken,
              MaxResults: this.options.pageSize,
              Filters: [{ Name: 'NAMESPACE_ID', Values: [namespace.Id ?? ''], Condition: 'EQ' }],
            },
            signal,
          ),
        );
        return { items: page.Services, nextToken: page.NextToken };
      },
      (page) => {
        for (const service of page) {
          const entry = { namespace: namespaceName, service };
          entries.push(entry);
          onService?.(entry);
        }
      },
    );
    return entries;
  }

  /**
   * One service, its tags read directly (ListTagsForResource): the event that asked for it may come right after the
   * tag was set, before the Tagging API's index shows it.
   */
  private async readOne(entry: ServiceInNamespace): Promise<CloudMapService | undefined> {
    const object = `namespace/${entry.namespace}/service/${entry.service.Name ?? ''}`;
    const { Tags: list } = await this.call('ListTagsForResource', object, (signal) =>
      this.client.listTagsForResource({ ResourceARN: entry.service.Arn }, signal),
    );
    const tags = tagsOf(list);
    return isExposed(tags) ? this.readInstances({ ...entry, tags }) : undefined;
  }

  /**
   * One exposed service's instances read on their own: its failures are kept apart, for run() to count only if the
   * paging confirms the service.
   */
  private async readInstancesAlone(entry: ExposedEntry): Promise<EarlyRead> {
    const failures = new ReadFailures(CLOUD_MAP_SOURCE, this.signal);
    const object = `namespace/${entry.namespace}/service/${entry.service.Name}`;
    const service = await failures.attempt(object, () => this.readInstances(entry, failures));
    return { service, failures: failures.failures };
  }

  /** An exposed service with its instances (every instance, healthy or not, as endpoints). */
  private async readInstances(
    { namespace, service, tags }: ExposedEntry,
    failures: ReadFailures = this.failures,
  ): Promise<CloudMapService> {
    const name = service.Name ?? '';
    const object = `namespace/${namespace}/service/${name}`;
    await (this.options.quota ?? DISCOVER_INSTANCES_QUOTA).take(this.signal);
    const found = await discoverEndpoints(this.client, namespace, name, DEFAULT_SERVICE_PORT, this.signal);
    for (const reason of found.skipped) failures.record(object, reason);
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

/**
 * Instance reads started while the lists are still being paged, at most `limit` at once, at most one per service.
 * Once the paging ends (or fails) no queued read starts any more; a read already running finishes, and its outcome
 * is observed whether or not it is asked for.
 */
class EarlyReads {
  private readonly reads = new Map<string, Promise<EarlyRead>>();
  private readonly queue: (() => void)[] = [];
  private running = 0;
  private closed = false;

  constructor(
    private readonly limit: number,
    private readonly read: (entry: ExposedEntry) => Promise<EarlyRead>,
  ) {}

  start(arn: string, entry: ExposedEntry): void {
    if (this.closed || this.reads.has(arn)) return;
    const read = new Promise<EarlyRead>((resolve, reject) => {
      this.queue.push(() => {
        this.running += 1;
        this.read(entry)
          .then(resolve, reject)
          .finally(() => {
            this.running -= 1;
            this.next();
          });
      });
    });
    // Observed here: a read the run no longer needs (its paging failed) must not be an unhandled rejection.
    read.catch(() => undefined);
    this.reads.set(arn, read);
    this.next();
  }

  /** The paging is over: every service to read has been started or queued; queued ones still run unless dropped. */
  close(options: { dropQueued?: boolean } = {}): void {
    this.closed = true;
    if (options.dropQueued) this.queue.length = 0;
  }

  result(arn: string): Promise<EarlyRead> {
    const read = this.reads.get(arn);
    if (!read) throw new Error(`Cloud Map read: no instance read was started for ${arn}`);
    return read;
  }

  private next(): void {
    while (this.running < this.limit && this.queue.length > 0) this.queue.shift()?.();
  }
}
