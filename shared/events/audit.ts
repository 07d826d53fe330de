import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { MeshgateError } from '../errors.js';
import { boundedDetailJson } from './bounded.js';

/** meshgate's audit trail: every run's outcome as an EventBridge event on the audit bus (source `meshgate`). */
export const AUDIT_SOURCE = 'meshgate';

export const AUDIT_DETAIL_TYPES = [
  'Sync Applied',
  'Sync Failed',
  'Sync Planned',
  // A sync that found another writer holding the state-store lease: it marked "pending" and the holder syncs.
  'Sync Deferred',
  'Key Rotated',
  'Key Rotation Failed',
  'Rollback Applied',
  'Sync Frozen',
  'Sync Resumed',
  'Token Issued',
] as const;
export type AuditDetailType = (typeof AUDIT_DETAIL_TYPES)[number];

export class AuditError extends MeshgateError {}

export interface AuditPublisher {
  publish(detailType: AuditDetailType, detail: Record<string, unknown>): Promise<void>;
}

// Keys whose values are secret material wherever they appear; the values are replaced, never sent.
const SECRET_KEYS = /private|secret|token|password|credential_secret/i;
const PRIVATE_KEY_PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** A copy of `detail` with anything that looks like secret material redacted. */
export function redactSecrets(value: unknown, key = ''): unknown {
  if (SECRET_KEYS.test(key) && value !== null && value !== undefined) return '[redacted]';
  if (typeof value === 'string') return PRIVATE_KEY_PEM.test(value) ? '[redacted]' : value;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, k)]));
  }
  return value;
}

export class EventBridgeAuditPublisher implements AuditPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    private readonly instance: string,
  ) {}

  async publish(detailType: AuditDetailType, detail: Record<string, unknown>): Promise<void> {
    const body = boundedDetailJson(redactSecrets({ instance: this.instance, ...detail }));
    const output = await this.client
      .send(
        new PutEventsCommand({
          Entries: [{ Source: AUDIT_SOURCE, DetailType: detailType, Detail: body, EventBusName: this.busName }],
        }),
      )
      .catch((cause: unknown) => {
        throw new AuditError(`could not publish audit event '${detailType}'`, { cause, context: { detailType } });
      });
    const failed = output.Entries?.[0];
    if (output.FailedEntryCount || failed?.ErrorCode) {
      throw new AuditError(
        `audit event '${detailType}' was refused: ${failed?.ErrorCode} ${failed?.ErrorMessage ?? ''}`,
        {
          context: { detailType, errorCode: failed?.ErrorCode },
        },
      );
    }
  }
}
