/**
 * `meshgate audit [--since DURATION] [--json]`: the audit trail as the audit bus's rule wrote it to CloudWatch Logs
 * (serverless.yml AuditToLogs), newest first, one line per event with its time, who acted, what happened and the
 * run. Read-only; the CloudWatch Logs client is loaded by this command alone (never by a Lambda bundle).
 */
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { z } from 'zod';
import { clientSettings } from '../shared/aws/options.js';
import { type Config, parseDuration } from '../shared/config/index.js';
import { errorMessage, MeshgateError } from '../shared/errors.js';
import { escapeControl } from '../shared/text.js';

export class AuditQueryError extends MeshgateError {}

/** How far back `meshgate audit` reads unless `--since` says otherwise. */
export const DEFAULT_SINCE = '24h';

/** An audit event as the rule delivers it: the whole EventBridge event, as JSON, one log event each. */
export const auditEventSchema = z.object({
  id: z.string(),
  'detail-type': z.string(),
  source: z.string(),
  time: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
export type AuditEvent = z.infer<typeof auditEventSchema>;

/** `--since` in milliseconds; a value that is not a positive duration is refused, naming it. */
export function parseSince(value: string | undefined): number {
  const text = value ?? DEFAULT_SINCE;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new AuditQueryError(
      `--since '${escapeControl(text)}': expected a duration such as 30m, 12h or 7d (units ms, s, m, h, d)`,
    );
  }
  return ms;
}

/** The group the audit rule writes to: AUDIT_LOG_GROUP, else `/aws/events/<audit bus name>` (serverless.yml). */
export function auditLogGroup(config: Pick<Config, 'AUDIT_LOG_GROUP' | 'AUDIT_BUS_NAME'>): string {
  if (config.AUDIT_LOG_GROUP) return config.AUDIT_LOG_GROUP;
  const bus = config.AUDIT_BUS_NAME.includes(':event-bus/')
    ? (config.AUDIT_BUS_NAME.split(':event-bus/')[1] ?? config.AUDIT_BUS_NAME)
    : config.AUDIT_BUS_NAME;
  return `/aws/events/${bus}`;
}

export interface AuditReader {
  send(command: FilterLogEventsCommand): Promise<{
    events?: { timestamp?: number; message?: string; eventId?: string }[];
    nextToken?: string;
  }>;
}

/**
 * Every audit event from `startTime` on, newest first. Pages until FilterLogEvents returns no nextToken (a page may
 * be empty while more follow); a log event that is not an audit event is skipped, not fatal.
 */
export async function readAudit(
  logs: AuditReader,
  logGroupName: string,
  startTime: number,
): Promise<{ events: AuditEvent[]; skipped: number }> {
  const found: { timestamp: number; order: number; event: AuditEvent }[] = [];
  let skipped = 0;
  let nextToken: string | undefined;
  do {
    const page = await logs
      .send(new FilterLogEventsCommand({ logGroupName, startTime, nextToken }))
      .catch((cause: unknown) => {
        throw new AuditQueryError(`could not read the audit log group ${logGroupName}: ${errorMessage(cause)}`, {
          cause,
          context: { logGroupName },
        });
      });
    for (const logEvent of page.events ?? []) {
      const parsed = auditEventSchema.safeParse(safeJson(logEvent.message ?? ''));
      if (parsed.success) {
        found.push({ timestamp: logEvent.timestamp ?? 0, order: found.length, event: parsed.data });
      } else skipped += 1;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  // Newest first; events of the same millisecond in reverse arrival order.
  found.sort((a, b) => b.timestamp - a.timestamp || b.order - a.order);
  return { events: found.map(({ event }) => event), skipped };
}

/** Who acted: the operator (`by`), the token caller's role, the sync's trigger, or the rotation step. */
export function who(event: AuditEvent): string {
  const { by, caller, trigger, step } = event.detail;
  if (typeof by === 'string') return by;
  if (typeof caller === 'string') return caller;
  if (typeof trigger === 'string') return `meshSync:${trigger}`;
  if (typeof step === 'string') return `rotateKeys:${step}`;
  return 'meshgate';
}

/** The run the event belongs to: the sync run's id, else the snapshot it took or restored. */
export function runOf(event: AuditEvent): string {
  const { runId, snapshotId, to } = event.detail;
  for (const value of [runId, snapshotId, to]) if (typeof value === 'string' && value) return value;
  return '-';
}

/** What happened, beyond the event type: the outcome and the facts an operator looks for first. */
export function what(event: AuditEvent): string {
  const detail = event.detail;
  const parts: string[] = [];
  for (const key of ['outcome', 'action', 'consumer', 'kid', 'reason', 'error'] as const) {
    const value = detail[key];
    if (typeof value === 'string' && value) parts.push(`${key}=${value}`);
  }
  const counts = detail.counts as { total?: unknown } | undefined;
  if (typeof counts?.total === 'number') parts.push(`ops=${counts.total}`);
  if (Array.isArray(detail.errors) && detail.errors.length) parts.push(`errors=${detail.errors.length}`);
  return parts.join(' ');
}

/** One line per event; every field from the event is escaped, so none can forge a line or move the cursor. */
export function renderAudit(events: readonly AuditEvent[], window: string): string {
  if (events.length === 0) return `no audit events in the last ${window}`;
  return events
    .map((event) =>
      [
        escapeControl(event.time),
        escapeControl(event['detail-type']).padEnd(19),
        escapeControl(who(event)).padEnd(30),
        `run ${escapeControl(runOf(event))}`.padEnd(30),
        escapeControl(what(event)),
      ]
        .join(' ')
        .trimEnd(),
    )
    .join('\n');
}

/** The command: reads since `--since` ago (default 24h) and prints text or, with `--json`, the events. */
export async function auditCommand(
  flags: { since?: string; json?: boolean },
  config: Pick<Config, 'AUDIT_LOG_GROUP' | 'AUDIT_BUS_NAME'>,
  env: NodeJS.ProcessEnv,
  out: (text: string) => void,
  now = Date.now(),
): Promise<void> {
  const sinceMs = parseSince(flags.since);
  const logs = new CloudWatchLogsClient(clientSettings(env).common);
  try {
    const { events } = await readAudit(logs, auditLogGroup(config), now - sinceMs);
    out(flags.json ? JSON.stringify(events, null, 2) : renderAudit(events, flags.since ?? DEFAULT_SINCE));
  } finally {
    logs.destroy();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
