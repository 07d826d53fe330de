import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type AwsContext, AwsServiceError, type AwsServiceModule, jsonService } from '../protocol.js';
import type { EventBridgeEvent } from '../server.js';
import { busName, createBusRules, type RuleInput } from './eventbridge-rules.js';

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
  /** Defines a rule as CloudFormation would at deploy (the local stack's serverless.yml rules), as PutRule does. */
  putRule(rule: RuleInput, where: Pick<AwsContext, 'account' | 'region'>): string;
  /** Calls `listener` for each accepted event; returns an unsubscribe function. */
  subscribe(listener: (put: PutEvent) => void): () => void;
  /** Rules with targets and archives on the buses (eventbridge-rules.ts). */
  readonly busRules: ReturnType<typeof createBusRules>;
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
type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

export function createEventBridgeService(options: { maxEntryBytes?: number } = {}): EventBridgeService {
  const maxEntryBytes = options.maxEntryBytes ?? MAX_ENTRY_BYTES;
  const events: PutEvent[] = [];
  const listeners = new Set<(put: PutEvent) => void>();
  const busRules = createBusRules();

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
    busRules.route(put.bus, put.event, context);
    for (const listener of listeners) listener(put);
    return { EventId: put.event.id };
  }

  const service = jsonService(
    'events',
    { PutEvents: putEvents, ...busRules.operations },
    () => {
      events.length = 0;
      busRules.reset();
    },
    {
      // Each entry is authorized on the bus it is put on.
      resources: (operation, input, where) =>
        busRules.resources(operation, input, where) ??
        (Array.isArray(input.Entries) ? (input.Entries as { EventBusName?: string }[]) : []).map(
          (entry) => `arn:aws:events:${where.region}:${where.account}:event-bus/${busName(entry.EventBusName)}`,
        ),
    },
  );
  return Object.assign(service, {
    events,
    busRules,
    putRule: (rule: RuleInput, where: Pick<AwsContext, 'account' | 'region'>) =>
      busRules.operations.PutRule(rule, where).RuleArn,
    subscribe(listener: (put: PutEvent) => void) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  });
}
