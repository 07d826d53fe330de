/**
 * What the demo shows and checks, read from the outside: Kong through its Admin API, meshgate's runs through the
 * audit events it puts on the audit bus (the AWS double's EventBridge).
 */

import type { KongApi } from '../../shared/kong/api.js';
import type { EntityKind, KongState } from '../../shared/kong/entities.js';
import { diff, dump, formatPlan, plan } from '../../shared/reconcile/index.js';
import type { AwsDouble } from '../aws/server.js';
import type { EventBridgeService } from '../aws/services/eventbridge.js';

export interface AuditRecord {
  detailType: string;
  detail: Record<string, unknown>;
}

/** Collects meshgate's audit events as they are published. */
export class AuditLog {
  readonly records: AuditRecord[] = [];
  private readonly unsubscribe: () => void;

  constructor(aws: AwsDouble) {
    this.unsubscribe = aws.service<EventBridgeService>('events').subscribe(({ event }) => {
      if (event.source === 'meshgate') this.records.push({ detailType: event['detail-type'], detail: event.detail });
    });
  }

  /** The records published after `mark` (a length of `records` taken earlier). */
  since(mark: number): AuditRecord[] {
    return this.records.slice(mark);
  }

  close(): void {
    this.unsubscribe();
  }
}

/** "3 runs: Sync Applied (created 2 …), Sync Applied (no changes) ×2" for the meshSync runs among `records`. */
export function describeSyncRuns(records: AuditRecord[]): string {
  const runs = records.filter((record) => record.detailType.startsWith('Sync ') && 'outcome' in record.detail);
  if (runs.length === 0) return 'no meshSync run';
  const labels = runs.map((run) => {
    const { trigger, outcome } = run.detail as { trigger: string; outcome: string };
    return `${run.detailType} [${trigger}, ${outcome}${countsOf(run)}]`;
  });
  const grouped = new Map<string, number>();
  for (const label of labels) grouped.set(label, (grouped.get(label) ?? 0) + 1);
  const parts = [...grouped].map(([label, times]) => (times > 1 ? `${label} ×${times}` : label));
  return `${runs.length} meshSync run(s): ${parts.join('; ')}`;
}

function countsOf(record: AuditRecord): string {
  const counts = record.detail.counts as Record<string, number> | undefined;
  if (!counts || record.detail.outcome === 'no-changes') return '';
  const shown = ['creating', 'updating', 'deleting', 'completed', 'failed', 'rolledBack']
    .filter((key) => (counts[key] ?? 0) > 0)
    .map((key) => `${key} ${counts[key]}`);
  return shown.length ? `: ${shown.join(', ')}` : '';
}

const COUNTED: [EntityKind, string][] = [
  ['service', 'services'],
  ['route', 'routes'],
  ['upstream', 'upstreams'],
  ['target', 'targets'],
  ['plugin', 'plugins'],
  ['consumer', 'consumers'],
  ['jwt', 'jwt credentials'],
];

/** Every entity in Kong, owned or not, counted per kind through the Admin API. */
export async function kongCounts(kong: KongApi): Promise<Record<EntityKind, number>> {
  const upstreams = await kong.list('upstream');
  const targets = await Promise.all(upstreams.map((upstream) => kong.list('target', { upstream: upstream.id })));
  const counts = { upstream: upstreams.length, target: targets.flat().length } as Record<EntityKind, number>;
  for (const [kind] of COUNTED) {
    if (kind !== 'upstream' && kind !== 'target') counts[kind] = (await kong.list(kind)).length;
  }
  return counts;
}

export function describeCounts(counts: Record<EntityKind, number>): string {
  return COUNTED.map(([kind, label]) => `${counts[kind]} ${label}`).join(', ');
}

/** The state meshgate owns in Kong (instance-tagged), read the way the engine reads it. */
export function ownedState(kong: KongApi, instance: string): Promise<KongState> {
  return dump(kong, { instance });
}

/** What changed in Kong between two reads, as decK-style plan lines (without the summary block). */
export function changesBetween(before: KongState, after: KongState): { lines: string[]; total: number } {
  const planned = plan(diff(before, after));
  const text = formatPlan(planned);
  const lines = text.slice(0, text.indexOf('Summary:')).trimEnd().split('\n').filter(Boolean);
  const { creating, updating, deleting } = planned.summary;
  return { lines, total: creating + updating + deleting };
}

/** Same owned entities, matched by id and compared field by field (timestamps ignored), as the engine diffs. */
export function sameState(left: KongState, right: KongState): boolean {
  return diff(left, right).length === 0;
}
