import { type AnyEntity, entityKinds, type KongState } from '../kong/entities.js';
import { isWithin, objectOfTags } from '../translate/provenance.js';
import { entitiesOf, stateKey } from './diff.js';

/** A source object that could not be read or translated, and the entities it still has in Kong. */
export interface KeptObject {
  object: string;
  entities: number;
}

/**
 * Failure is not absence: `desired` plus every current entity whose source object (its `meshgate:object` tag) is
 * one of `failed` or lies under one, unless `desired` already has that entity. Only an object confirmed gone is
 * removed from Kong; one that could not be read or translated keeps what it had. Pure.
 */
export function keepFailed(
  current: KongState,
  desired: KongState,
  failed: readonly string[],
): { state: KongState; kept: KeptObject[] } {
  if (failed.length === 0) return { state: desired, kept: [] };
  const counts = new Map<string, number>();
  const state = { ...desired };
  for (const kind of entityKinds) {
    const wanted = new Set(entitiesOf(desired, kind).map((entity) => entity.id));
    const extra: AnyEntity[] = [];
    for (const entity of entitiesOf(current, kind)) {
      if (wanted.has(entity.id)) continue;
      const object = objectOfTags(entity.tags);
      const failure = object === undefined ? undefined : failed.find((candidate) => isWithin(object, candidate));
      if (failure === undefined) continue;
      extra.push(entity);
      counts.set(failure, (counts.get(failure) ?? 0) + 1);
    }
    if (extra.length > 0) (state[stateKey(kind)] as AnyEntity[]) = [...entitiesOf(desired, kind), ...extra];
  }
  const kept = [...counts]
    .map(([object, entities]) => ({ object, entities }))
    .sort((a, b) => (a.object < b.object ? -1 : 1));
  return { state, kept };
}
