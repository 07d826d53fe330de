import { SyncCommandSchema } from '../commands/schema.js';
import { escapeControl } from '../text.js';
import * as z from '../zod.js';
import { SYNC_REQUEST_DETAIL_TYPE, SYNC_REQUEST_SOURCE } from './sync-request.js';

/**
 * The events meshSync accepts, as zod schemas over EventBridge's envelope. CloudTrail records are parsed tolerantly
 * (optional members, null requestParameters) because AWS documents their shapes only by example.
 */

export const APP_MESH_WRITE_CALLS = [
  'CreateMesh',
  'UpdateMesh',
  'DeleteMesh',
  'CreateVirtualService',
  'UpdateVirtualService',
  'DeleteVirtualService',
  'CreateVirtualNode',
  'UpdateVirtualNode',
  'DeleteVirtualNode',
  'CreateVirtualRouter',
  'UpdateVirtualRouter',
  'DeleteVirtualRouter',
  'CreateRoute',
  'UpdateRoute',
  'DeleteRoute',
  'CreateVirtualGateway',
  'UpdateVirtualGateway',
  'DeleteVirtualGateway',
  'CreateGatewayRoute',
  'UpdateGatewayRoute',
  'DeleteGatewayRoute',
  'TagResource',
  'UntagResource',
] as const;

export const CLOUD_MAP_INSTANCE_CALLS = [
  'RegisterInstance',
  'DeregisterInstance',
  'UpdateInstanceCustomHealthStatus',
] as const;

/**
 * Cloud Map calls that change what a service exposes (its definition, its tags) or whether it exists: each triggers
 * a full run, so a newly exposed service is routable without waiting for drift repair and a deleted one goes.
 */
export const CLOUD_MAP_SERVICE_CALLS = [
  'CreateService',
  'UpdateService',
  'DeleteService',
  'TagResource',
  'UntagResource',
] as const;

/**
 * EventBridge's envelope, as Powertools' parser defines it (`EventBridgeSchema`), in zod/mini: Powertools' schemas
 * are classic zod, which would put all of classic zod into the meshSync bundle (shared/zod.ts).
 */
const EventBridgeSchema = z.object({
  version: z.string(),
  id: z.string(),
  source: z.string(),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  'detail-type': z.string(),
  detail: z.unknown(),
  'replay-name': z.optional(z.string()),
});

const cloudTrailDetail = z.object({
  eventID: z.optional(z.string()),
  eventTime: z.optional(z.string()),
  errorCode: z.optional(z.string()),
  errorMessage: z.optional(z.string()),
});

export const AppMeshChangeEventSchema = z.extend(EventBridgeSchema, {
  source: z.literal('aws.appmesh'),
  'detail-type': z.literal('AWS API Call via CloudTrail'),
  detail: z.extend(cloudTrailDetail, {
    eventSource: z.literal('appmesh.amazonaws.com'),
    eventName: z.enum(APP_MESH_WRITE_CALLS),
    requestParameters: z.optional(z.nullable(z.looseObject({ meshName: z.optional(z.string()) }))),
  }),
});

export const CloudMapChangeEventSchema = z.extend(EventBridgeSchema, {
  source: z.literal('aws.servicediscovery'),
  'detail-type': z.literal('AWS API Call via CloudTrail'),
  detail: z.extend(cloudTrailDetail, {
    eventSource: z.literal('servicediscovery.amazonaws.com'),
    eventName: z.enum(CLOUD_MAP_INSTANCE_CALLS),
    requestParameters: z.looseObject({
      serviceId: z.string().check(z.minLength(1)),
      instanceId: z.string().check(z.minLength(1)),
    }),
    // RegisterInstance / DeregisterInstance answer `{operationId}`: the change is applied asynchronously.
    responseElements: z.optional(
      z.nullable(z.looseObject({ operationId: z.optional(z.string().check(z.minLength(1))) })),
    ),
  }),
});

/** The Cloud Map operation a registration event started, if any (its run waits for it). */
export function cloudMapOperationOf(event: MeshSyncEvent): string | undefined {
  if (!('source' in event) || event.source !== 'aws.servicediscovery' || !('requestParameters' in event.detail)) {
    return undefined;
  }
  return event.detail.responseElements?.operationId;
}

export const CloudMapServiceEventSchema = z.extend(EventBridgeSchema, {
  source: z.literal('aws.servicediscovery'),
  'detail-type': z.literal('AWS API Call via CloudTrail'),
  detail: z.extend(cloudTrailDetail, {
    eventSource: z.literal('servicediscovery.amazonaws.com'),
    eventName: z.enum(CLOUD_MAP_SERVICE_CALLS),
  }),
});

export const ScheduledEventSchema = z.extend(EventBridgeSchema, {
  source: z.literal('aws.events'),
  'detail-type': z.literal('Scheduled Event'),
});

/**
 * rotateKeys or rollback asking for a full sync (a deferred "pending" sync, `resume`): shared/events/sync-request.ts.
 * The stage is matched by the rule (serverless.yml); the reason is recorded with the run.
 */
export const SyncRequestedEventSchema = z.extend(EventBridgeSchema, {
  source: z.literal(SYNC_REQUEST_SOURCE),
  'detail-type': z.literal(SYNC_REQUEST_DETAIL_TYPE),
  detail: z.object({ stage: z.string(), reason: z.string() }),
});

/**
 * A direct invoke (`serverless invoke -f meshSync`, the console): the operator command `sync`, the same JSON the
 * rollback function accepts.
 */
export const ManualSyncEventSchema = SyncCommandSchema;

export const MeshSyncEventSchema = z.union([
  AppMeshChangeEventSchema,
  CloudMapChangeEventSchema,
  CloudMapServiceEventSchema,
  ScheduledEventSchema,
  SyncRequestedEventSchema,
  ManualSyncEventSchema,
]);

export type MeshSyncEvent = z.infer<typeof MeshSyncEventSchema>;

/** What a run of meshSync should do for an event. */
export type SyncTrigger =
  | { kind: 'full'; reason: string; dryRun: boolean }
  /** A Cloud Map instance change: only the upstreams fed by that Cloud Map service need reconciling. */
  | { kind: 'scoped'; reason: string; serviceId: string; dryRun: false };

export function triggerFor(event: MeshSyncEvent): SyncTrigger {
  // The reason is the invoker's text; it is recorded and printed (`meshgate status`), so no terminal escapes.
  if ('action' in event) return { kind: 'full', reason: escapeControl(event.reason ?? 'manual'), dryRun: event.dryRun };
  switch (event.source) {
    case 'aws.events':
      return { kind: 'full', reason: 'schedule', dryRun: false };
    case SYNC_REQUEST_SOURCE:
      return { kind: 'full', reason: escapeControl(event.detail.reason), dryRun: false };
    case 'aws.appmesh':
      return { kind: 'full', reason: `appmesh:${event.detail.eventName}`, dryRun: false };
    case 'aws.servicediscovery':
      if (!('requestParameters' in event.detail)) {
        return { kind: 'full', reason: `cloudmap:${event.detail.eventName}`, dryRun: false };
      }
      return {
        kind: 'scoped',
        reason: `cloudmap:${event.detail.eventName}`,
        serviceId: event.detail.requestParameters.serviceId,
        dryRun: false,
      };
  }
}

/**
 * Why an event is dropped, or undefined when it is accepted. A failed API call (CloudTrail records them too, with
 * `errorCode`) changes nothing in the mesh, so it is dropped even though its shape is valid.
 */
export function dropReason(event: MeshSyncEvent): string | undefined {
  if ('detail' in event && event.detail && typeof event.detail === 'object' && 'errorCode' in event.detail) {
    const code = (event.detail as { errorCode?: string }).errorCode;
    if (code) return `the API call failed (errorCode ${shorten(code)}); the mesh did not change`;
  }
  return undefined;
}

/** A one-line, human reason a value is not an event meshSync accepts (for the log line of a dropped event). */
export function describeRejection(raw: unknown, error: z.$ZodError): string {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return `expected an EventBridge event object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`;
  }
  const record = raw as Record<string, unknown>;
  const detail = record.detail as Record<string, unknown> | undefined;
  if (
    typeof record.source === 'string' &&
    !['aws.appmesh', 'aws.servicediscovery', 'aws.events', SYNC_REQUEST_SOURCE].includes(record.source)
  ) {
    return `unknown event source ${quote(record.source)}`;
  }
  if (detail && typeof detail.eventName === 'string') {
    const known: readonly string[] = [...APP_MESH_WRITE_CALLS, ...CLOUD_MAP_INSTANCE_CALLS, ...CLOUD_MAP_SERVICE_CALLS];
    if (!known.includes(detail.eventName))
      return `unsupported event ${quote(`${String(record.source)}:${detail.eventName}`)}`;
  }
  // The union reports one issue list per member; the closest member is the one with the fewest issues.
  const issue = closestIssue(error);
  return issue ? `malformed event: ${issue}` : 'malformed event';
}

function closestIssue(error: z.$ZodError): string | undefined {
  const [first] = error.issues;
  if (!first) return undefined;
  if (first.code === 'invalid_union' && 'errors' in first) {
    const branches = (first as { errors: z.core.$ZodIssue[][] }).errors;
    const best = [...branches].sort((a, b) => a.length - b.length)[0];
    const issue = best?.[0];
    if (issue) return shorten(`${issue.path.join('.') || '(root)'}: ${issue.message}`, MAX_ISSUE_LENGTH);
  }
  return shorten(`${first.path.join('.') || '(root)'}: ${first.message}`, MAX_ISSUE_LENGTH);
}

// Drop reasons echo values from the event, which can be anything up to EventBridge's 256 KiB: keep log lines short.
const MAX_ECHOED_LENGTH = 64;
const MAX_ISSUE_LENGTH = 200;

function shorten(value: string, max = MAX_ECHOED_LENGTH): string {
  return value.length <= max ? value : `${value.slice(0, max)}… (${value.length} characters)`;
}

function quote(value: string): string {
  return `'${shorten(value)}'`;
}
