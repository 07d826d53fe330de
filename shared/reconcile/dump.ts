import { mapLimit } from '../concurrency.js';
import { errorMessage } from '../errors.js';
import type { KongApi } from '../kong/api.js';
import { type EntityKind, emptyKongState, type KongState, type Upstream } from '../kong/entities.js';
import { isOwned, ownershipTags } from '../kong/ownership.js';
import { objectOfTags, objectTag } from '../translate/provenance.js';
import { entitiesOf, stateKey } from './diff.js';
import { ReconcileError } from './errors.js';

/**
 * A scoped run touches only these upstreams (by name) and their targets, and the services, routes and plugins of
 * `objects` (source objects, by their `meshgate:object` tag: a newly exposed Cloud Map service); everything else is
 * left alone.
 */
export interface Scope {
  upstreams: string[];
  objects?: string[];
}

/** The kinds a scope's objects bring in besides their upstream and targets. */
const OBJECT_KINDS = ['service', 'route', 'plugin'] as const;

export interface DumpOptions {
  instance: string;
  scope?: Scope;
  /** Target lists read at once (Kong lists targets per upstream). */
  parallelism?: number;
  signal?: AbortSignal;
}

const DEFAULT_PARALLELISM = 10;
const COLLECTIONS: EntityKind[] = ['ca_certificate', 'consumer', 'service', 'upstream', 'jwt', 'route', 'plugin'];

/**
 * The entities this instance owns, as Kong holds them. Collections are read tag-filtered (AND of the ownership
 * tags) and paginated by the client; targets, which Kong lists only per upstream and without a tag filter, are read
 * for each owned upstream. Every entity is checked with `isOwned` again, so a server that ignores the filter cannot
 * widen what meshgate manages.
 */
export async function dump(kong: KongApi, options: DumpOptions): Promise<KongState> {
  try {
    return options.scope ? await dumpScope(kong, options.scope, options) : await dumpAll(kong, options);
  } catch (error) {
    // The cause goes into the message: Lambda logs only the message of the error a handler throws.
    throw new ReconcileError(`could not read the current Kong state: ${errorMessage(error)}`, {
      cause: error,
      context: { phase: 'dump', instance: options.instance, scope: options.scope },
    });
  }
}

async function dumpAll(kong: KongApi, options: DumpOptions): Promise<KongState> {
  const tags = ownershipTags(options.instance);
  const state = emptyKongState();
  await Promise.all(
    COLLECTIONS.map(async (kind) => {
      const entities = await kong.list(kind, { tags, signal: options.signal });
      (state[stateKey(kind)] as unknown[]) = entities.filter((entity) => isOwned(entity, options.instance));
      // The target lists (one per upstream: most of a dump's requests) start as soon as the upstreams are known,
      // while the other collections' pages are still being read.
      if (kind === 'upstream') state.targets = await ownedTargets(kong, state.upstreams, options);
    }),
  );
  return state;
}

/** One read per scoped upstream and one per its targets: a registration event converges in a handful of requests. */
async function dumpScope(kong: KongApi, scope: Scope, options: DumpOptions): Promise<KongState> {
  const state = emptyKongState();
  const found = await mapLimit(scope.upstreams, options.parallelism ?? DEFAULT_PARALLELISM, (name) =>
    kong.get('upstream', name, { signal: options.signal }),
  );
  state.upstreams = found.filter(
    (upstream): upstream is Upstream => upstream !== undefined && isOwned(upstream, options.instance),
  );
  state.targets = await ownedTargets(kong, state.upstreams, options);
  // One tag-filtered read per kind and object: the object's tag and the ownership tags, ANDed by Kong.
  for (const object of scope.objects ?? []) {
    const tags = [...ownershipTags(options.instance), objectTag(object)];
    await Promise.all(
      OBJECT_KINDS.map(async (kind) => {
        const entities = await kong.list(kind, { tags, signal: options.signal });
        const owned = entities.filter(
          (entity) => isOwned(entity, options.instance) && objectOfTags(entity.tags) === object,
        );
        (state[stateKey(kind)] as unknown[]).push(...owned);
      }),
    );
  }
  return state;
}

async function ownedTargets(kong: KongApi, upstreams: Upstream[], options: DumpOptions) {
  const perUpstream = await mapLimit(upstreams, options.parallelism ?? DEFAULT_PARALLELISM, (upstream) =>
    kong.list('target', { upstream: upstream.id, signal: options.signal }),
  );
  return perUpstream.flat().filter((target) => isOwned(target, options.instance));
}

/** The part of a state a scope covers: the named upstreams and their targets. Pure. */
export function scopeState(state: KongState, scope: Scope): KongState {
  const names = new Set(scope.upstreams);
  const scoped = emptyKongState();
  scoped.upstreams = state.upstreams.filter((upstream) => names.has(upstream.name));
  const ids = new Set(scoped.upstreams.map((upstream) => upstream.id));
  scoped.targets = entitiesOf(state, 'target').filter((target) => ids.has(target.upstream.id));
  const objects = new Set(scope.objects ?? []);
  if (objects.size > 0) {
    const inScope = (entity: { tags?: string[] | null }) => objects.has(objectOfTags(entity.tags) ?? '');
    scoped.services = state.services.filter(inScope);
    scoped.routes = state.routes.filter(inScope);
    scoped.plugins = state.plugins.filter(inScope);
  }
  return scoped;
}

/**
 * A scoped run whose upstream Kong does not have yet is the first registration of a newly exposed service: the
 * services that route to that upstream (their host) join the scope by their source object, with their routes and
 * plugins, so the service is routable after this run instead of after the next full sync. An upstream Kong already
 * has leaves the scope as it is (a registration then costs a few reads). Pure.
 */
export function widenScope(scope: Scope, current: KongState, desired: KongState): Scope {
  const present = new Set(current.upstreams.map((upstream) => upstream.name));
  const fresh = new Set(scope.upstreams.filter((name) => !present.has(name)));
  const objects = new Set(
    desired.services
      .filter((service) => fresh.has(service.host))
      .flatMap((service) => {
        const object = objectOfTags(service.tags);
        return object === undefined ? [] : [object];
      }),
  );
  for (const object of scope.objects ?? []) objects.delete(object);
  return objects.size === 0 ? scope : { ...scope, objects: [...(scope.objects ?? []), ...[...objects].sort()] };
}
