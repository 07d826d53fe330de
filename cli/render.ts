import type { StatusReport } from '../shared/operations/status.js';
import type { SnapshotMeta } from '../shared/state/store.js';
import { escapeControl as safe } from '../shared/text.js';

/** `meshgate status` as text. */
export function renderStatus(status: StatusReport): string {
  const lines = [`meshgate instance ${status.instance}`];
  lines.push(
    status.freeze
      ? `  sync:      FROZEN since ${safe(status.freeze.since)} by ${safe(status.freeze.by)}: ${safe(status.freeze.reason)}`
      : '  sync:      active',
  );
  if (status.lease) {
    lines.push(`  lease:     held by ${status.lease.holder} (${status.lease.purpose}) until ${status.lease.expiresAt}`);
  }
  if ('error' in status.drift) {
    lines.push(`  drift:     unknown (${safe(status.drift.error)})`);
  } else {
    const { creating, updating, deleting, total } = status.drift.summary;
    const leftOut = status.drift.leftOut ? `; ${status.drift.leftOut} mesh object(s) left out` : '';
    lines.push(
      total === 0
        ? `  drift:     none, Kong matches the mesh${leftOut}`
        : `  drift:     ${total} change(s) pending: ${creating} to create, ${updating} to update, ${deleting} to delete${leftOut}`,
    );
  }
  lines.push('  last runs:');
  if (status.runs.length === 0) lines.push('    (none yet)');
  for (const run of status.runs) {
    const ops = run.counts?.total !== undefined ? `${run.counts.total} op(s)` : '';
    // Run records hold text from outside (manual reasons, error messages quoting mesh values): escaped for the terminal.
    const errors = run.errors?.length ? `  ${safe(run.errors[0] ?? '')}` : '';
    lines.push(
      `    ${safe(run.startedAt)}  ${safe(run.kind).padEnd(8)} ${safe(run.outcome).padEnd(11)} ${safe(run.trigger).padEnd(28)} ${ops.padEnd(9)} ${run.durationMs} ms${errors}`,
    );
  }
  lines.push('  consumers:');
  if (status.consumers.length === 0) lines.push('    (none)');
  for (const consumer of status.consumers) {
    const age = consumer.keyAgeHours === undefined ? 'no current key' : `key age ${formatHours(consumer.keyAgeHours)}`;
    lines.push(
      `    ${safe(consumer.username).padEnd(20)} ${safe(consumer.currentKid ?? '-')}  ${age}, ${consumer.liveKeys} live key(s)`,
    );
  }
  return lines.join('\n');
}

export function renderSnapshots(snapshots: SnapshotMeta[]): string {
  if (snapshots.length === 0) return 'no snapshots yet (one is taken before every apply)';
  return snapshots
    .map((snapshot) => {
      const counts = Object.entries(snapshot.counts)
        .filter(([, count]) => count > 0)
        .map(([kind, count]) => `${count} ${kind}`)
        .join(', ');
      // `rollback sync --to previous` picks the newest full one; a scoped one restores only its upstreams.
      const scope = snapshot.scope
        ? `  scope: upstreams ${safe(snapshot.scope.upstreams.join(', '))}`
        : '  scope: full';
      return `${safe(snapshot.id)}  ${safe(snapshot.trigger).padEnd(28)} ${counts || 'empty'}${scope}`;
    })
    .join('\n');
}

function formatHours(hours: number): string {
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} d`;
}
