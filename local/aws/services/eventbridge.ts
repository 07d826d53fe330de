import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type AwsContext, AwsServiceError, type AwsServiceModule, jsonService } from '../protocol.js';
import type { EventBridgeEvent } from '../server.js';

/**
 * EventBridge `PutEvents` (JSON 1.1, `AWSEvents`): 1-10 entries, per-entry failures counted in `FailedEntryCount`,
 * accepted events kept (as EventBridge would deliver them) for tests and the local stack to read.
 */
export interface PutEvent {
  bus: string;
  event: EventBridgeEvent;
}

export interface EventBridgeService extends AwsServiceModule {
  /** Every accepted event, in order. */
  readonly events: PutEvent[];
  /**
   * Defines a rule as CloudFormation would at deploy (the local stack's serverless.yml rules), as PutRule does.
   * The double does not route by these rules; the local bus does (local/bus).
   */
  putRule(rule: RuleInput, where: Pick<AwsContext, 'account' | 'region'>): string;
  /** Calls `listener` for each accepted event; returns an unsubscribe function. */
  subscribe(listener: (put: PutEvent) => void): () => void;
}

/** The documented entry size limit (256 KiB; AWS raised it to 1 MiB in 2026, see reference/aws.md §0). */
export const MAX_ENTRY_BYTES = 256 * 1024;

const putEventsInput = z.object({
  Entries: z
    .array(
      z.object({
        Time: z.number().optional(),
        Source: z.string().optional(),
        Resources: z.array(z.string()).optional(),
        DetailType: z.string().optional(),
        Detail: z.string().optional(),
        EventBusName: z.string().min(1).max(1600).optional(),
        TraceHeader: z.string().min(1).max(500).optional(),
      }),
    )
    .min(1)
    .max(10),
  EndpointId: z.string().optional(),
});

type Entry = z.infer<typeof putEventsInput>['Entries'][number];

/** PutRule's input (its members as the API names them). */
const putRuleInput = z.object({
  Name: z
    .string()
    .regex(/^[.\-_A-Za-z0-9]{1,64}$/, 'Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+'),
  ScheduleExpression: z.string().max(256).optional(),
  EventPattern: z.string().max(4096).optional(),
  State: z.enum(['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS']).optional(),
  Description: z.string().max(512).optional(),
  EventBusName: z.string().min(1).max(1600).optional(),
});
export type RuleInput = z.infer<typeof putRuleInput>;

interface Rule extends RuleInput {
  bus: string;
  arn: string;
}

/** A rule's ARN: `rule/<name>` on the default bus, `rule/<bus>/<name>` on another. */
const ruleArn = (bus: string, name: string, where: Pick<AwsContext, 'account' | 'region'>) =>
  `arn:aws:events:${where.region}:${where.account}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`;
type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

export function createEventBridgeService(options: { maxEntryBytes?: number } = {}): EventBridgeService {
  const maxEntryBytes = options.maxEntryBytes ?? MAX_ENTRY_BYTES;
  const events: PutEvent[] = [];
  const listeners = new Set<(put: PutEvent) => void>();
  const rules = new Map<string, Rule>();

  function putRule(raw: Record<string, unknown>, where: Pick<AwsContext, 'account' | 'region'>): string {
    const parsed = putRuleInput.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AwsServiceError(
        'ValidationException',
        `1 validation error detected: Value at '${issue?.path.join('.') ?? ''}' failed to satisfy constraint: ${issue?.message ?? 'invalid'}`,
      );
    }
    const input = parsed.data;
    if (input.ScheduleExpression === undefined && input.EventPattern === undefined) {
      throw new AwsServiceError(
        'ValidationException',
        'Parameter(s) ScheduleExpression or EventPattern must be specified.',
      );
    }
    const bus = busName(input.EventBusName);
    if (input.ScheduleExpression !== undefined && bus !== 'default') {
      throw new AwsServiceError(
        'ValidationException',
        'ScheduleExpression is supported only on the default event bus.',
      );
    }
    if (input.EventPattern !== undefined) {
      try {
        JSON.parse(input.EventPattern);
      } catch {
        throw new AwsServiceError('InvalidEventPatternException', 'Event pattern is not valid. Reason: not JSON');
      }
    }
    const arn = ruleArn(bus, input.Name, where);
    rules.set(`${bus}/${input.Name}`, { ...input, State: input.State ?? 'ENABLED', bus, arn });
    return arn;
  }

  function listRules(input: Record<string, unknown>): object {
    const bus = busName(typeof input.EventBusName === 'string' ? input.EventBusName : undefined);
    const prefix = typeof input.NamePrefix === 'string' ? input.NamePrefix : '';
    const limit = input.Limit ?? 100;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new AwsServiceError('ValidationException', `Limit must be between 1 and 100, got ${String(limit)}`);
    }
    const listed = [...rules.values()]
      .filter((rule) => rule.bus === bus && rule.Name.startsWith(prefix))
      .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    let start = 0;
    if (typeof input.NextToken === 'string' && input.NextToken !== '') {
      const after = Buffer.from(input.NextToken, 'base64url').toString('utf8');
      start = listed.findIndex((rule) => rule.Name > after);
      if (start < 0) start = listed.length;
    }
    const page = listed.slice(start, start + limit);
    const last = page.at(-1);
    return {
      Rules: page.map((rule) => ({
        Name: rule.Name,
        Arn: rule.arn,
        ...(rule.EventPattern === undefined ? {} : { EventPattern: rule.EventPattern }),
        ...(rule.ScheduleExpression === undefined ? {} : { ScheduleExpression: rule.ScheduleExpression }),
        State: rule.State,
        ...(rule.Description === undefined ? {} : { Description: rule.Description }),
        EventBusName: rule.bus,
      })),
      ...(start + limit < listed.length && last ? { NextToken: Buffer.from(last.Name).toString('base64url') } : {}),
    };
  }

  function putEvents(raw: Record<string, unknown>, context: AwsContext): object {
    const parsed = putEventsInput.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AwsServiceError(
        'ValidationException',
        `Invalid value for '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}.`,
      );
    }
    const results = parsed.data.Entries.map((entry) => putEntry(entry, context));
    return {
      FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length,
      Entries: results,
    };
  }

  function putEntry(entry: Entry, context: AwsContext): EntryResult {
    for (const member of ['Source', 'DetailType', 'Detail'] as const) {
      if (!entry[member]) {
        return {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: `Parameter ${member} is not valid. Reason: ${member} is a required argument.`,
        };
      }
    }
    const { Source: source = '', DetailType: detailType = '', Detail: detailText = '' } = entry;
    if (source.startsWith('aws.')) {
      return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: `Not authorized for the source ${source}.` };
    }
    let detail: unknown;
    try {
      detail = JSON.parse(detailText);
    } catch {
      detail = undefined;
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    const size =
      (entry.Time === undefined ? 0 : 14) +
      [source, detailType, detailText, ...(entry.Resources ?? [])].reduce(
        (total, part) => total + Buffer.byteLength(part),
        0,
      );
    if (size > maxEntryBytes) {
      return { ErrorCode: 'EventTooLarge', ErrorMessage: `Entry size ${size} exceeds ${maxEntryBytes} bytes.` };
    }
    const put: PutEvent = {
      bus: busName(entry.EventBusName),
      event: {
        version: '0',
        id: randomUUID(),
        'detail-type': detailType,
        source,
        account: context.account,
        time: new Date(entry.Time === undefined ? Date.now() : entry.Time * 1000)
          .toISOString()
          .replace(/\.\d{3}Z$/, 'Z'),
        region: context.region,
        resources: entry.Resources ?? [],
        detail: detail as Record<string, unknown>,
      },
    };
    events.push(put);
    for (const listener of listeners) listener(put);
    return { EventId: put.event.id };
  }

  const service = jsonService(
    'events',
    {
      PutEvents: putEvents,
      PutRule: (input, context) => ({ RuleArn: putRule(input, context) }),
      ListRules: listRules,
      // Deleting a rule that does not exist succeeds, as EventBridge documents.
      DeleteRule: (input) => {
        rules.delete(
          `${busName(typeof input.EventBusName === 'string' ? input.EventBusName : undefined)}/${String(input.Name)}`,
        );
        return {};
      },
    },
    () => {
      events.length = 0;
      rules.clear();
    },
    {
      // Each entry is authorized on the bus it is put on; a rule operation on its rule (ListRules on "*" only).
      resources: (operation, input, where) =>
        operation === 'PutEvents'
          ? (Array.isArray(input.Entries) ? (input.Entries as { EventBusName?: string }[]) : []).map(
              (entry) => `arn:aws:events:${where.region}:${where.account}:event-bus/${busName(entry.EventBusName)}`,
            )
          : typeof input.Name === 'string'
            ? [
                ruleArn(
                  busName(typeof input.EventBusName === 'string' ? input.EventBusName : undefined),
                  input.Name,
                  where,
                ),
              ]
            : [],
    },
  );
  return Object.assign(service, {
    events,
    putRule,
    subscribe(listener: (put: PutEvent) => void) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  });
}

/** A bus named directly or by ARN (`arn:aws:events:…:event-bus/<name>`). */
function busName(nameOrArn: string | undefined): string {
  if (!nameOrArn) return 'default';
  return nameOrArn.includes(':event-bus/') ? (nameOrArn.split(':event-bus/')[1] ?? nameOrArn) : nameOrArn;
}
