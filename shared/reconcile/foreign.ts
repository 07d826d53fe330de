import type { KongApi } from '../kong/api.js';
import type { AnyEntity, EntityKind } from '../kong/entities.js';
import { isOwned } from '../kong/ownership.js';
import { referencedIds } from './apply.js';
import { type Plan, plan, planChanges } from './plan.js';

/** An owned entity the plan would delete, kept because entities meshgate does not own hang off it. */
export interface HeldParent {
  kind: EntityKind;
  id: string;
  name: string;
  /** The foreign children, e.g. `plugin rate-limiting 1f0e…`. */
  foreign: string[];
}

const PARENT_KINDS = new Set<EntityKind>(['service', 'route', 'upstream', 'consumer']);

/**
 * The dump reads only owned entities, but Kong deletes a service's plugins, an upstream's targets and a consumer's
 * credentials with it (and refuses to delete a service that routes still use). So before an owned parent is
 * deleted, its children are read untagged, and a parent with any child meshgate does not own is kept. The reads
 * are bounded: one list of all plugins, routes or credentials per kind needed, one target list per upstream
 * deleted, and none at all when the plan deletes no parent (a no-op sync reads nothing more).
 */
export async function foreignChildren(
  kong: KongApi,
  planned: Plan,
  instance: string,
  signal?: AbortSignal,
): Promise<Map<string, string[]>> {
  const deleted = new Map<EntityKind, Set<string>>();
  for (const change of planChanges(planned)) {
    if (change.action !== 'delete' || !PARENT_KINDS.has(change.kind)) continue;
    const ids = deleted.get(change.kind) ?? new Set<string>();
    ids.add(change.id);
    deleted.set(change.kind, ids);
  }
  const found = new Map<string, string[]>();
  if (deleted.size === 0) return found;
  const parents = new Set([...deleted.values()].flatMap((ids) => [...ids]));
  const note = (child: AnyEntity, kind: EntityKind) => {
    if (isOwned(child, instance)) return;
    for (const id of referencedIds(child)) {
      if (!parents.has(id)) continue;
      const label =
        (child as { name?: unknown; key?: unknown; target?: unknown }).name ??
        (child as { key?: unknown }).key ??
        (child as { target?: unknown }).target;
      found.set(id, [...(found.get(id) ?? []), `${kind} ${typeof label === 'string' ? `${label} ` : ''}${child.id}`]);
    }
  };
  const reads: Promise<void>[] = [];
  const read = <K extends EntityKind>(kind: K, options: { upstream?: string } = {}) =>
    reads.push(
      kong.list(kind, { ...options, signal }).then((entities) => {
        for (const entity of entities) note(entity, kind);
      }),
    );
  // Plugins hang off services, routes and consumers.
  read('plugin');
  if (deleted.has('service')) read('route');
  if (deleted.has('consumer')) read('jwt');
  for (const upstream of deleted.get('upstream') ?? []) read('target', { upstream });
  await Promise.all(reads);
  return found;
}

/**
 * The plan without the deletes of held parents, nor of the parents those hang off (a service whose route is kept
 * for a foreign plugin must stay too: Kong refuses to delete a service routes still use). Pure.
 */
export function holdParents(planned: Plan, foreign: Map<string, string[]>): { plan: Plan; held: HeldParent[] } {
  if (foreign.size === 0) return { plan: planned, held: [] };
  const deletes = new Map(
    planChanges(planned)
      .filter((change) => change.action === 'delete')
      .map((change) => [change.id, change]),
  );
  const reasons = new Map<string, string[]>();
  const hold = (id: string, why: string[]) => {
    const change = deletes.get(id);
    if (!change) return;
    const first = !reasons.has(id);
    reasons.set(id, [...(reasons.get(id) ?? []), ...why]);
    if (!first) return;
    for (const parent of referencedIds(change.entity)) hold(parent, [`kept ${change.kind} ${change.name}`]);
  };
  for (const [id, children] of foreign) hold(id, children);
  const held = [...reasons].map(([id, why]) => {
    const change = deletes.get(id)!;
    return { kind: change.kind, id, name: change.name, foreign: why };
  });
  return {
    plan: plan(planChanges(planned).filter((change) => !reasons.has(change.id) || change.action !== 'delete')),
    held,
  };
}
