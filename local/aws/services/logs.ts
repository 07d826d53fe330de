import { z } from 'zod';
import { wildcardMatch } from '../iam/policy.js';
import { type AwsContext, AwsServiceError, type AwsServiceModule, jsonService, parseMembers } from '../protocol.js';

/**
 * CloudWatch Logs (JSON 1.1, `Logs_20140328`), as far as meshgate's audit trail goes: log groups with retention
 * and resource policies, streams, PutLogEvents, and FilterLogEvents with its time range, a subset of filter patterns
 * (terms and quoted phrases), `limit`, `startFromHead` and opaque `nextToken` paging. Deliveries from AWS services
 * (EventBridge rule targets) go through `deliver`, which the group's resource policy must allow as on AWS.
 */
export interface LogEvent {
  logStreamName: string;
  timestamp: number;
  message: string;
  ingestionTime: number;
  eventId: string;
}

export interface LogsService extends AwsServiceModule {
  /**
   * Writes `events` into `stream` (created if missing) of group `group` on behalf of the service principal (e.g.
   * `events.amazonaws.com`), if the group exists and a resource policy allows that principal CreateLogStream and
   * PutLogEvents on it; returns why not otherwise (the delivery is then dropped, as AWS drops it).
   */
  deliver(
    principal: string,
    group: string,
    stream: string,
    events: { timestamp: number; message: string }[],
  ): { delivered: true } | { delivered: false; reason: string };
  /** Every event of a group, oldest first (tests). */
  eventsOf(group: string): LogEvent[];
}

/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy, AWS::Logs::LogGroup RetentionInDays). */
export const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const MAX_FILTER_LIMIT = 10_000;
/** A FilterLogEvents page holds at most 1 MB of events (and at most `limit` of them). */
const MAX_PAGE_BYTES = 1_048_576;
/** PutLogEvents: at most 10,000 events and 1,048,576 bytes (each event's message plus 26 bytes) per batch. */
const MAX_BATCH_EVENTS = 10_000;
const EVENT_OVERHEAD_BYTES = 26;
/** Events older than 14 days or more than 2 hours ahead are rejected by PutLogEvents. */
const MAX_AGE_MS = 14 * 86_400_000;
const MAX_AHEAD_MS = 2 * 3_600_000;
/** startFromHead=false is served only from this time on (the API's own limit). */
const TAIL_FIRST_SINCE = Date.UTC(2024, 0, 1);
/** A nextToken expires after 24 hours. */
const TOKEN_TTL_MS = 86_400_000;

const GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const STREAM_NAME = /^[^:*]{1,512}$/;

interface Group {
  name: string;
  arn: string;
  creationTime: number;
  retentionInDays?: number;
  streams: Map<string, { creationTime: number }>;
  events: LogEvent[];
}

const invalid = (message: string) => new AwsServiceError('InvalidParameterException', message);
const groupNotFound = () => new AwsServiceError('ResourceNotFoundException', 'The specified log group does not exist.');

const createLogGroupInput = z.object({ logGroupName: z.string() });
const retentionInput = z.object({ logGroupName: z.string(), retentionInDays: z.number().int() });
const streamInput = z.object({ logGroupName: z.string(), logStreamName: z.string() });
const putLogEventsInput = z.object({
  logGroupName: z.string().optional(),
  logGroupIdentifier: z.string().optional(),
  logStreamName: z.string(),
  logEvents: z.array(z.object({ timestamp: z.number().int(), message: z.string().min(1) })).min(1),
  sequenceToken: z.string().optional(),
});
const filterInput = z.object({
  logGroupName: z.string().optional(),
  logGroupIdentifier: z.string().optional(),
  logStreamNames: z.array(z.string()).min(1).max(100).optional(),
  logStreamNamePrefix: z.string().optional(),
  startTime: z.number().int().min(0).optional(),
  endTime: z.number().int().min(0).optional(),
  filterPattern: z.string().max(1024).optional(),
  nextToken: z.string().min(1).optional(),
  limit: z.number().int().optional(),
  startFromHead: z.boolean().optional(),
  interleaved: z.boolean().optional(),
  unmask: z.boolean().optional(),
});
const resourcePolicyInput = z.object({ policyName: z.string().min(1).max(256), policyDocument: z.string().min(1) });
const describeGroupsInput = z.object({ logGroupNamePrefix: z.string().optional() });

const policyStatement = z.object({
  Effect: z.enum(['Allow', 'Deny']),
  Principal: z.object({ Service: z.union([z.string(), z.array(z.string())]) }).optional(),
  Action: z.union([z.string(), z.array(z.string())]),
  Resource: z.union([z.string(), z.array(z.string())]),
});
type PolicyStatement = z.infer<typeof policyStatement>;
const resourcePolicyDocument = z.object({
  Version: z.string().optional(),
  Statement: z.union([policyStatement, z.array(policyStatement)]),
});

/** The position after the last event served, the direction, and when the token was issued. */
const tokenSchema = z.tuple([z.enum(['head', 'tail']), z.number(), z.string(), z.number()]);

const asList = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

export function createLogsService(): LogsService {
  const groups = new Map<string, Group>();
  const policies = new Map<string, string>();
  let eventSequence = 0;

  function groupNamed(nameOrArn: string | undefined): Group {
    // An ARN names the group as `arn:aws:logs:<region>:<account>:log-group:<name>`, with or without a trailing `:*`.
    const name = nameOrArn?.startsWith('arn:') ? nameOrArn.split(':log-group:')[1]?.replace(/:\*$/, '') : nameOrArn;
    const group = name === undefined ? undefined : groups.get(name);
    if (!group) throw groupNotFound();
    return group;
  }

  function identifiedGroup(input: { logGroupName?: string; logGroupIdentifier?: string }): Group {
    if ((input.logGroupName === undefined) === (input.logGroupIdentifier === undefined)) {
      throw invalid('LogGroupName or LogGroupIdentifier must be specified, but not both.');
    }
    return groupNamed(input.logGroupName ?? input.logGroupIdentifier);
  }

  /** Events past the group's retention are gone (AWS deletes them; reads never see them). */
  function retained(group: Group, now = Date.now()): LogEvent[] {
    if (group.retentionInDays === undefined) return group.events;
    const oldest = now - group.retentionInDays * 86_400_000;
    return group.events.filter((event) => event.timestamp >= oldest);
  }

  function append(group: Group, stream: string, events: { timestamp: number; message: string }[]) {
    const now = Date.now();
    const rejected: Record<string, number> = {};
    events.forEach((event, index) => {
      if (
        event.timestamp < now - MAX_AGE_MS ||
        (group.retentionInDays !== undefined && event.timestamp < now - group.retentionInDays * 86_400_000)
      ) {
        rejected.tooOldLogEventEndIndex = index + 1;
        return;
      }
      if (event.timestamp > now + MAX_AHEAD_MS) {
        rejected.tooNewLogEventStartIndex ??= index;
        return;
      }
      eventSequence += 1;
      group.events.push({
        logStreamName: stream,
        timestamp: event.timestamp,
        message: event.message,
        ingestionTime: now,
        // Log event ids are opaque decimal strings on AWS.
        eventId: `${String(event.timestamp).padStart(20, '0')}${String(eventSequence).padStart(36, '0')}`,
      });
    });
    // Stable by timestamp, then by arrival: readers page through the group in this order.
    group.events.sort((a, b) => a.timestamp - b.timestamp || a.eventId.localeCompare(b.eventId));
    return rejected;
  }

  function allows(principal: string, action: string, group: Group): boolean {
    const statements = [...policies.values()].flatMap((text): PolicyStatement[] => {
      const parsed = resourcePolicyDocument.safeParse(safeJson(text));
      if (!parsed.success) return [];
      const statement = parsed.data.Statement;
      return Array.isArray(statement) ? statement : [statement];
    });
    const applies = (statement: PolicyStatement) =>
      asList(statement.Principal?.Service ?? []).includes(principal) &&
      asList(statement.Action).some((pattern) => wildcardMatch(pattern.toLowerCase(), action.toLowerCase())) &&
      // A statement names the group (`…:log-group:<name>`) or its streams (`…:log-group:<name>:*`).
      asList(statement.Resource).some(
        (pattern) => wildcardMatch(pattern, group.arn) || wildcardMatch(pattern, `${group.arn}:log-stream:x`),
      );
    if (statements.some((statement) => statement.Effect === 'Deny' && applies(statement))) return false;
    return statements.some((statement) => statement.Effect === 'Allow' && applies(statement));
  }

  const operations = {
    CreateLogGroup(raw: Record<string, unknown>, context: AwsContext) {
      const { logGroupName } = parseMembers(createLogGroupInput, raw, invalid);
      if (!GROUP_NAME.test(logGroupName)) throw invalid(`Invalid log group name: ${logGroupName}`);
      if (groups.has(logGroupName)) {
        throw new AwsServiceError('ResourceAlreadyExistsException', 'The specified log group already exists');
      }
      groups.set(logGroupName, {
        name: logGroupName,
        arn: `arn:aws:logs:${context.region}:${context.account}:log-group:${logGroupName}`,
        creationTime: Date.now(),
        streams: new Map(),
        events: [],
      });
      return {};
    },
    PutRetentionPolicy(raw: Record<string, unknown>) {
      const { logGroupName, retentionInDays } = parseMembers(retentionInput, raw, invalid);
      if (!(RETENTION_DAYS as readonly number[]).includes(retentionInDays)) {
        throw invalid(
          `1 validation error detected: Value '${retentionInDays}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`,
        );
      }
      groupNamed(logGroupName).retentionInDays = retentionInDays;
      return {};
    },
    DescribeLogGroups(raw: Record<string, unknown>) {
      const { logGroupNamePrefix = '' } = parseMembers(describeGroupsInput, raw, invalid);
      return {
        logGroups: [...groups.values()]
          .filter((group) => group.name.startsWith(logGroupNamePrefix))
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((group) => ({
            logGroupName: group.name,
            arn: `${group.arn}:*`,
            logGroupArn: group.arn,
            creationTime: group.creationTime,
            storedBytes: 0,
            ...(group.retentionInDays === undefined ? {} : { retentionInDays: group.retentionInDays }),
          })),
      };
    },
    PutResourcePolicy(raw: Record<string, unknown>) {
      const { policyName, policyDocument } = parseMembers(resourcePolicyInput, raw, invalid);
      if (!resourcePolicyDocument.safeParse(safeJson(policyDocument)).success) {
        throw new AwsServiceError('InvalidParameterException', 'Invalid policy document');
      }
      if (!policies.has(policyName) && policies.size >= 10) {
        throw new AwsServiceError('LimitExceededException', 'Resource limit exceeded.');
      }
      policies.set(policyName, policyDocument);
      return { resourcePolicy: { policyName, policyDocument, lastUpdatedTime: Date.now() } };
    },
    DescribeResourcePolicies() {
      return {
        resourcePolicies: [...policies].map(([policyName, policyDocument]) => ({ policyName, policyDocument })),
      };
    },
    CreateLogStream(raw: Record<string, unknown>) {
      const { logGroupName, logStreamName } = parseMembers(streamInput, raw, invalid);
      if (!STREAM_NAME.test(logStreamName)) throw invalid(`Invalid log stream name: ${logStreamName}`);
      const group = groupNamed(logGroupName);
      if (group.streams.has(logStreamName)) {
        throw new AwsServiceError('ResourceAlreadyExistsException', 'The specified log stream already exists');
      }
      group.streams.set(logStreamName, { creationTime: Date.now() });
      return {};
    },
    PutLogEvents(raw: Record<string, unknown>) {
      const input = parseMembers(putLogEventsInput, raw, invalid);
      const group = identifiedGroup(input);
      if (!group.streams.has(input.logStreamName)) {
        throw new AwsServiceError('ResourceNotFoundException', 'The specified log stream does not exist.');
      }
      const bytes = input.logEvents.reduce(
        (total, event) => total + Buffer.byteLength(event.message) + EVENT_OVERHEAD_BYTES,
        0,
      );
      if (input.logEvents.length > MAX_BATCH_EVENTS || bytes > MAX_PAGE_BYTES) {
        throw invalid('Upload too large: the batch exceeds 10,000 events or 1,048,576 bytes.');
      }
      if (
        input.logEvents.some(
          (event, index) => index > 0 && event.timestamp < (input.logEvents[index - 1]?.timestamp ?? 0),
        )
      ) {
        throw invalid('Log events in a single PutLogEvents request must be in chronological order.');
      }
      const rejected = append(group, input.logStreamName, input.logEvents);
      return Object.keys(rejected).length ? { rejectedLogEventsInfo: rejected } : {};
    },
    FilterLogEvents(raw: Record<string, unknown>) {
      const input = parseMembers(filterInput, raw, invalid);
      const group = identifiedGroup(input);
      if (input.logStreamNames && input.logStreamNamePrefix !== undefined) {
        throw invalid('Cannot specify both LogStreamNames and LogStreamNamePrefix.');
      }
      const limit = input.limit ?? MAX_FILTER_LIMIT;
      if (limit < 1 || limit > MAX_FILTER_LIMIT) {
        throw invalid(
          `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and ${MAX_FILTER_LIMIT}`,
        );
      }
      const token = input.nextToken === undefined ? undefined : parseToken(input.nextToken);
      // The first request picks the direction; a token keeps it.
      const direction = token?.[0] ?? (input.startFromHead === false ? 'tail' : 'head');
      if (direction === 'tail' && (input.startTime ?? 0) < TAIL_FIRST_SINCE) {
        throw invalid('startFromHead=false requires a startTime on or after Jan 1, 2024 00:00:00 UTC.');
      }
      const matches = compileFilterPattern(input.filterPattern ?? '');
      const inRange = retained(group).filter(
        (event) =>
          (input.startTime === undefined || event.timestamp >= input.startTime) &&
          (input.endTime === undefined || event.timestamp <= input.endTime) &&
          (input.logStreamNames === undefined || input.logStreamNames.includes(event.logStreamName)) &&
          (input.logStreamNamePrefix === undefined || event.logStreamName.startsWith(input.logStreamNamePrefix)) &&
          matches(event.message),
      );
      const ordered = direction === 'head' ? inRange : [...inRange].reverse();
      // Resume after the last event served: found by its (timestamp, id), so events appended meanwhile in the
      // part not yet read are served, and nothing is served twice.
      const after = (event: LogEvent) => {
        if (!token) return true;
        const [, timestamp, eventId] = token;
        const order = event.timestamp - timestamp || event.eventId.localeCompare(eventId);
        return direction === 'head' ? order > 0 : order < 0;
      };
      const remaining = ordered.filter(after);
      const page: LogEvent[] = [];
      let bytes = 0;
      for (const event of remaining) {
        const size = Buffer.byteLength(event.message) + EVENT_OVERHEAD_BYTES;
        if (page.length >= limit || (page.length > 0 && bytes + size > MAX_PAGE_BYTES)) break;
        page.push(event);
        bytes += size;
      }
      const last = page.at(-1);
      return {
        events: page.map((event) => ({ ...event })),
        searchedLogStreams: [],
        // No token when nothing is left: that is how a reader knows it is done.
        ...(last && page.length < remaining.length
          ? {
              nextToken: Buffer.from(JSON.stringify([direction, last.timestamp, last.eventId, Date.now()])).toString(
                'base64url',
              ),
            }
          : {}),
      };
    },
  };

  function parseToken(text: string): z.infer<typeof tokenSchema> {
    const parsed = tokenSchema.safeParse(safeJson(Buffer.from(text, 'base64url').toString('utf8')));
    if (!parsed.success) throw invalid('The specified nextToken is invalid.');
    if (Date.now() - parsed.data[3] > TOKEN_TTL_MS) throw invalid('The specified nextToken has expired.');
    return parsed.data;
  }

  const service = jsonService(
    'logs',
    operations,
    () => {
      groups.clear();
      policies.clear();
    },
    {
      // Group operations are authorized on the log group, stream writes on the stream; resource policies have no
      // resource-level permissions.
      resources: (operation, input, where) => {
        const named = String(input.logGroupIdentifier ?? input.logGroupName ?? '');
        const name = named.startsWith('arn:') ? (named.split(':log-group:')[1]?.replace(/:\*$/, '') ?? '') : named;
        const group = `arn:aws:logs:${where.region}:${where.account}:log-group:${name}`;
        if (operation === 'PutLogEvents' || operation === 'CreateLogStream') {
          return [`${group}:log-stream:${String(input.logStreamName ?? '')}`];
        }
        if (operation === 'PutResourcePolicy' || operation === 'DescribeResourcePolicies') return ['*'];
        if (operation === 'DescribeLogGroups') return [`arn:aws:logs:${where.region}:${where.account}:log-group:*`];
        return [group];
      },
    },
  );
  return Object.assign(service, {
    deliver(principal: string, groupName: string, stream: string, events: { timestamp: number; message: string }[]) {
      const group = groups.get(groupName);
      if (!group) return { delivered: false as const, reason: `log group ${groupName} does not exist` };
      for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
        if (!allows(principal, action, group)) {
          return {
            delivered: false as const,
            reason: `no resource policy allows ${principal} ${action} on ${group.arn}`,
          };
        }
      }
      if (!group.streams.has(stream)) group.streams.set(stream, { creationTime: Date.now() });
      append(group, stream, events);
      return { delivered: true as const };
    },
    eventsOf(groupName: string) {
      const group = groups.get(groupName);
      return group ? retained(group).map((event) => ({ ...event })) : [];
    },
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The filter patterns served: empty (everything), or terms that must all appear in the message (`ERROR`, `"Sync
 * Applied"`, case-sensitive); a term prefixed with `-` must not appear. JSON (`{ $.x = … }`) and space-delimited
 * (`[…]`) patterns are not served by the double and are refused rather than matched wrongly.
 */
export function compileFilterPattern(pattern: string): (message: string) => boolean {
  const text = pattern.trim();
  if (!text) return () => true;
  if (text.startsWith('{') || text.startsWith('[') || text.startsWith('%')) {
    throw invalid(`The local double serves term filter patterns only, not '${text}'.`);
  }
  const terms = [...text.matchAll(/(-?)(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)].map(([, negated, quoted, bare]) => ({
    negated: negated === '-',
    term: quoted === undefined ? (bare ?? '') : quoted.replace(/\\(.)/g, '$1'),
  }));
  return (message) => terms.every(({ negated, term }) => message.includes(term) !== negated);
}
