import type { EntityKind } from '../kong/entities.js';
import type { Change, ChangeAction } from './diff.js';

/**
 * Dependency levels (BRIEF §3): an entity only references entities of lower levels, so writing a level after the
 * ones above it, and deleting it before them, never trips a missing reference or Kong's route→service restriction.
 */
export const LEVELS: readonly (readonly EntityKind[])[] = [
  // Services name their CA certificates by id, so those are written first and deleted last.
  ['consumer', 'ca_certificate'],
  ['service', 'upstream', 'jwt'],
  ['route', 'target'],
  ['plugin'],
];

const LEVEL_OF = new Map<EntityKind, number>(LEVELS.flatMap((kinds, level) => kinds.map((kind) => [kind, level])));

/** Changes that run together (in parallel); stages run one after another. */
export interface PlanStage {
  level: number;
  phase: 'write' | 'delete';
  changes: Change[];
}

export interface PlanSummary {
  creating: number;
  updating: number;
  deleting: number;
  total: number;
}

export interface Plan {
  /** Writes (creates and updates) top-down by level, then deletes bottom-up, like decK. Empty stages are left out. */
  stages: PlanStage[];
  summary: PlanSummary;
}

const KIND_ORDER = new Map<EntityKind, number>([...LEVEL_OF.keys()].map((kind, index) => [kind, index]));
const ACTION_ORDER: Record<ChangeAction, number> = { create: 0, update: 1, delete: 2 };

function byKindActionName(a: Change, b: Change): number {
  return (
    KIND_ORDER.get(a.kind)! - KIND_ORDER.get(b.kind)! ||
    ACTION_ORDER[a.action] - ACTION_ORDER[b.action] ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

/** Orders changes into stages. Pure; the order within a stage is only for stable output. */
export function plan(changes: readonly Change[]): Plan {
  const writes = LEVELS.map(() => [] as Change[]);
  const deletes = LEVELS.map(() => [] as Change[]);
  for (const change of changes) {
    const level = LEVEL_OF.get(change.kind)!;
    (change.action === 'delete' ? deletes : writes)[level]!.push(change);
  }
  const stages: PlanStage[] = [
    ...writes.map((stageChanges, level) => ({ level, phase: 'write' as const, changes: stageChanges })),
    ...deletes.map((stageChanges, level) => ({ level, phase: 'delete' as const, changes: stageChanges })).reverse(),
  ]
    .filter((stage) => stage.changes.length > 0)
    .map((stage) => ({ ...stage, changes: stage.changes.sort(byKindActionName) }));
  const count = (action: ChangeAction) => changes.filter((change) => change.action === action).length;
  const summary = { creating: count('create'), updating: count('update'), deleting: count('delete') };
  return { stages, summary: { ...summary, total: changes.length } };
}

export function planChanges(planned: Plan): Change[] {
  return planned.stages.flatMap((stage) => stage.changes);
}

export function isEmptyPlan(planned: Plan): boolean {
  return planned.summary.total === 0;
}

/** decK's word for each kind in its output. */
const KIND_LABEL: Record<EntityKind, string> = {
  consumer: 'consumer',
  service: 'service',
  upstream: 'upstream',
  jwt: 'jwt-auth',
  route: 'route',
  target: 'target',
  plugin: 'plugin',
  ca_certificate: 'ca_certificate',
};

const VERB: Record<ChangeAction, string> = { create: 'creating', update: 'updating', delete: 'deleting' };

/**
 * The plan as decK prints it: one line per change in execution order, updates followed by their field diff, then
 * the summary.
 */
export function formatPlan(planned: Plan): string {
  const lines: string[] = [];
  for (const change of planChanges(planned)) {
    const head = `${VERB[change.action]} ${KIND_LABEL[change.kind]} ${change.name}`;
    if (change.action !== 'update' || !change.fields) {
      lines.push(head);
      continue;
    }
    lines.push(`${head}  {`);
    for (const { field, before, after } of change.fields) {
      lines.push(`-  ${JSON.stringify(field)}: ${JSON.stringify(before)}`);
      lines.push(`+  ${JSON.stringify(field)}: ${JSON.stringify(after)}`);
    }
    lines.push('}');
  }
  const { creating, updating, deleting } = planned.summary;
  lines.push('Summary:', `  Created: ${creating}`, `  Updated: ${updating}`, `  Deleted: ${deleting}`);
  return `${lines.join('\n')}\n`;
}

export interface PlanJsonEntry {
  name: string;
  kind: string;
  id: string;
  /** The entity created or deleted; for updates `{ new, old }` as decK's `--json-output`. */
  body: unknown;
}

export interface PlanJson {
  changes: { creating: PlanJsonEntry[]; updating: PlanJsonEntry[]; deleting: PlanJsonEntry[] };
  summary: PlanSummary;
}

/** The plan shaped like decK's `--json-output`. */
export function planJson(planned: Plan): PlanJson {
  const changes: PlanJson['changes'] = { creating: [], updating: [], deleting: [] };
  for (const change of planChanges(planned)) {
    const entry = { name: change.name, kind: KIND_LABEL[change.kind], id: change.id };
    if (change.action === 'update') {
      changes.updating.push({ ...entry, body: { new: change.entity, old: change.previous } });
    } else {
      changes[VERB[change.action] as 'creating' | 'deleting'].push({ ...entry, body: change.entity });
    }
  }
  return { changes, summary: planned.summary };
}
