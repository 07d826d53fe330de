import { z } from 'zod';
import { compilePattern, type EventMatcher, PatternError } from '../../bus/pattern.js';
import { type AwsContext, AwsServiceError, parseMembers } from '../protocol.js';
import type { EventBridgeEvent } from '../server.js';
import type { LogsService } from './logs.js';

/**
 * EventBridge rules with targets, and archives, on the double's buses, as far as meshgate's audit trail and
 * `meshgate doctor` need them: `PutRule`, `ListRules`, `DeleteRule`, `PutTargets`, `ListTargetsByRule`,
 * `CreateArchive`, `DescribeArchive`. An event put on a bus is
 * recorded by the archives whose pattern it matches and delivered to the targets of its enabled matching rules;
 * a CloudWatch Logs group target gets the whole event as one log event in a stream named by the event's id, when
 * the group's resource policy lets `events.amazonaws.com` write (as on AWS: EventBridge uses no role for it).
 * Lambda functions' rules (serverless.yml `functions`) are defined here too, as CloudFormation would at deploy, so
 * ListRules shows them; they have no targets here: the local bus (local/bus) routes their events and schedules.
 */

export interface Rule {
  name: string;
  bus: string;
  arn: string;
  pattern: unknown;
  schedule?: string;
  description?: string;
  matches: EventMatcher;
  state: 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
  targets: Map<string, { Id: string; Arn: string }>;
}

export interface Archive {
  name: string;
  arn: string;
  sourceArn: string;
  bus: string;
  pattern?: unknown;
  matches: EventMatcher;
  retentionDays: number;
  creationTime: number;
  events: number;
  sizeBytes: number;
}

/** A delivery EventBridge could not make (AWS counts these as the rule's FailedInvocations). */
export interface FailedDelivery {
  rule: string;
  target: string;
  eventId: string;
  reason: string;
}

const validation = (message: string) => new AwsServiceError('ValidationException', message);

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
const listRulesInput = z.object({
  EventBusName: z.string().optional(),
  NamePrefix: z.string().optional(),
  NextToken: z.string().optional(),
  Limit: z.number().int().min(1).max(100).optional(),
});
const deleteRuleInput = z.object({ Name: z.string().min(1), EventBusName: z.string().optional() });
const putTargetsInput = z.object({
  Rule: z.string().min(1),
  EventBusName: z.string().optional(),
  Targets: z
    .array(z.object({ Id: z.string().regex(/^[.\-_A-Za-z0-9]{1,64}$/), Arn: z.string().min(1) }))
    .min(1)
    .max(10),
});
const ruleNameInput = z.object({ Rule: z.string().min(1), EventBusName: z.string().optional() });
const createArchiveInput = z.object({
  ArchiveName: z.string().regex(/^[.\-_A-Za-z0-9]{1,48}$/),
  EventSourceArn: z.string().min(1),
  Description: z.string().optional(),
  EventPattern: z.string().optional(),
  RetentionDays: z.number().int().min(0).optional(),
});
const archiveNameInput = z.object({ ArchiveName: z.string().min(1) });

/** A bus named directly or by ARN (`arn:aws:events:…:event-bus/<name>`). */
export function busName(nameOrArn: string | undefined): string {
  if (!nameOrArn) return 'default';
  return nameOrArn.includes(':event-bus/') ? (nameOrArn.split(':event-bus/')[1] ?? nameOrArn) : nameOrArn;
}

/** A rule's ARN: `rule/<name>` on the default bus, `rule/<bus>/<name>` on a custom one. */
export function ruleArn(where: Pick<AwsContext, 'region' | 'account'>, bus: string, name: string): string {
  return `arn:aws:events:${where.region}:${where.account}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`;
}

export function archiveArn(where: Pick<AwsContext, 'region' | 'account'>, name: string): string {
  return `arn:aws:events:${where.region}:${where.account}:archive/${name}`;
}

function compiled(patternText: string | undefined, required: boolean): { pattern?: unknown; matches: EventMatcher } {
  if (patternText === undefined) {
    if (required) throw validation('Parameter EventPattern is not valid. Reason: an event pattern is required.');
    return { matches: () => true };
  }
  let pattern: unknown;
  try {
    pattern = JSON.parse(patternText);
    return { pattern, matches: compilePattern(pattern) };
  } catch (error) {
    const reason = error instanceof PatternError ? error.message : 'Filter is not valid JSON.';
    throw new AwsServiceError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${reason}`);
  }
}

export function createBusRules() {
  const rules = new Map<string, Rule>();
  const archives = new Map<string, Archive>();
  const failedDeliveries: FailedDelivery[] = [];
  const key = (bus: string, name: string) => `${bus}/${name}`;

  function ruleNamed(input: { Rule: string; EventBusName?: string }): Rule {
    const bus = busName(input.EventBusName);
    const rule = rules.get(key(bus, input.Rule));
    if (!rule)
      throw new AwsServiceError('ResourceNotFoundException', `Rule ${input.Rule} does not exist on EventBus ${bus}.`);
    return rule;
  }

  const operations = {
    PutRule(raw: Record<string, unknown>, context: Pick<AwsContext, 'region' | 'account'>) {
      const input = parseMembers(putRuleInput, raw, validation);
      if (input.ScheduleExpression === undefined && input.EventPattern === undefined) {
        throw validation('Parameter(s) ScheduleExpression or EventPattern must be specified.');
      }
      const bus = busName(input.EventBusName);
      if (input.ScheduleExpression !== undefined && bus !== 'default') {
        throw validation('ScheduleExpression is supported only on the default event bus.');
      }
      // A schedule rule matches no event put on a bus; the local bus fires schedules.
      const { pattern, matches } =
        input.EventPattern === undefined
          ? { pattern: undefined, matches: () => false }
          : compiled(input.EventPattern, true);
      const existing = rules.get(key(bus, input.Name));
      const rule: Rule = {
        name: input.Name,
        bus,
        arn: ruleArn(context, bus, input.Name),
        pattern,
        ...(input.ScheduleExpression === undefined ? {} : { schedule: input.ScheduleExpression }),
        ...(input.Description === undefined ? {} : { description: input.Description }),
        matches,
        state: input.State ?? 'ENABLED',
        targets: existing?.targets ?? new Map(),
      };
      rules.set(key(bus, input.Name), rule);
      return { RuleArn: rule.arn };
    },
    ListRules(raw: Record<string, unknown>) {
      const input = parseMembers(listRulesInput, raw, validation);
      const bus = busName(input.EventBusName);
      const prefix = input.NamePrefix ?? '';
      const limit = input.Limit ?? 100;
      const listed = [...rules.values()]
        .filter((rule) => rule.bus === bus && rule.name.startsWith(prefix))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      let start = 0;
      if (input.NextToken) {
        const after = Buffer.from(input.NextToken, 'base64url').toString('utf8');
        start = listed.findIndex((rule) => rule.name > after);
        if (start < 0) start = listed.length;
      }
      const page = listed.slice(start, start + limit);
      const last = page.at(-1);
      return {
        Rules: page.map((rule) => ({
          Name: rule.name,
          Arn: rule.arn,
          ...(rule.pattern === undefined ? {} : { EventPattern: JSON.stringify(rule.pattern) }),
          ...(rule.schedule === undefined ? {} : { ScheduleExpression: rule.schedule }),
          State: rule.state,
          ...(rule.description === undefined ? {} : { Description: rule.description }),
          EventBusName: rule.bus,
        })),
        ...(start + limit < listed.length && last ? { NextToken: Buffer.from(last.name).toString('base64url') } : {}),
      };
    },
    // Deleting a rule that does not exist succeeds, as EventBridge documents.
    DeleteRule(raw: Record<string, unknown>) {
      const input = parseMembers(deleteRuleInput, raw, validation);
      rules.delete(key(busName(input.EventBusName), input.Name));
      return {};
    },
    PutTargets(raw: Record<string, unknown>) {
      const input = parseMembers(putTargetsInput, raw, validation);
      const rule = ruleNamed(input);
      for (const target of input.Targets) rule.targets.set(target.Id, target);
      return { FailedEntryCount: 0, FailedEntries: [] };
    },
    ListTargetsByRule(raw: Record<string, unknown>) {
      const rule = ruleNamed(parseMembers(ruleNameInput, raw, validation));
      return { Targets: [...rule.targets.values()] };
    },
    CreateArchive(raw: Record<string, unknown>, context: AwsContext) {
      const input = parseMembers(createArchiveInput, raw, validation);
      if (archives.has(input.ArchiveName)) {
        throw new AwsServiceError('ResourceAlreadyExistsException', `Archive ${input.ArchiveName} already exists.`);
      }
      if (!input.EventSourceArn.includes(':event-bus/')) {
        throw validation(
          `Parameter EventSourceArn is not valid. Reason: ${input.EventSourceArn} is not an event bus ARN.`,
        );
      }
      const { pattern, matches } = compiled(input.EventPattern, false);
      const archive: Archive = {
        name: input.ArchiveName,
        arn: archiveArn(context, input.ArchiveName),
        sourceArn: input.EventSourceArn,
        bus: busName(input.EventSourceArn),
        pattern,
        matches,
        // 0 (or none) keeps events indefinitely.
        retentionDays: input.RetentionDays ?? 0,
        creationTime: Math.floor(Date.now() / 1000),
        events: 0,
        sizeBytes: 0,
      };
      archives.set(archive.name, archive);
      return { ArchiveArn: archive.arn, State: 'ENABLED', CreationTime: archive.creationTime };
    },
    DescribeArchive(raw: Record<string, unknown>) {
      const { ArchiveName } = parseMembers(archiveNameInput, raw, validation);
      const archive = archives.get(ArchiveName);
      if (!archive) throw new AwsServiceError('ResourceNotFoundException', `Archive ${ArchiveName} does not exist.`);
      return {
        ArchiveArn: archive.arn,
        ArchiveName: archive.name,
        EventSourceArn: archive.sourceArn,
        ...(archive.pattern === undefined ? {} : { EventPattern: JSON.stringify(archive.pattern) }),
        State: 'ENABLED',
        RetentionDays: archive.retentionDays,
        SizeBytes: archive.sizeBytes,
        EventCount: archive.events,
        CreationTime: archive.creationTime,
      };
    },
  };

  /** IAM: the rule or archive a request names (and, for CreateArchive, the bus it archives). */
  function resources(operation: string, input: Record<string, unknown>, where: Pick<AwsContext, 'region' | 'account'>) {
    if (operation === 'PutRule' || operation === 'DeleteRule') {
      return [ruleArn(where, busName(input.EventBusName as string), String(input.Name))];
    }
    if (operation === 'ListRules') return [];
    if (operation === 'PutTargets' || operation === 'ListTargetsByRule') {
      return [ruleArn(where, busName(input.EventBusName as string), String(input.Rule))];
    }
    if (operation === 'CreateArchive')
      return [archiveArn(where, String(input.ArchiveName)), String(input.EventSourceArn)];
    if (operation === 'DescribeArchive') return [archiveArn(where, String(input.ArchiveName))];
    return undefined;
  }

  /** Archives and delivers one event accepted on `bus`. */
  function route(bus: string, event: EventBridgeEvent, context: AwsContext): void {
    const text = JSON.stringify(event);
    for (const archive of archives.values()) {
      if (archive.bus === bus && archive.matches(event)) {
        archive.events += 1;
        archive.sizeBytes += Buffer.byteLength(text);
      }
    }
    for (const rule of rules.values()) {
      if (rule.bus !== bus || rule.state !== 'ENABLED' || !rule.matches(event)) continue;
      for (const target of rule.targets.values()) {
        const reason = deliver(target.Arn, event, text, context);
        if (reason) failedDeliveries.push({ rule: rule.name, target: target.Id, eventId: event.id, reason });
      }
    }
  }

  function deliver(arn: string, event: EventBridgeEvent, text: string, context: AwsContext): string | undefined {
    const group = /^arn:aws:logs:[^:]+:\d{12}:log-group:(.+?)(?::\*)?$/.exec(arn)?.[1];
    if (!group) return `the double delivers to CloudWatch Logs groups only, not ${arn}`;
    const outcome = context
      .service<LogsService>('logs')
      .deliver('events.amazonaws.com', group, event.id, [{ timestamp: Date.parse(event.time), message: text }]);
    return outcome.delivered ? undefined : outcome.reason;
  }

  return {
    operations,
    resources,
    route,
    failedDeliveries,
    archives,
    rules,
    reset() {
      rules.clear();
      archives.clear();
      failedDeliveries.length = 0;
    },
  };
}
