import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { MeshgateError } from '../errors.js';

/**
 * How rotateKeys (a step that found the lease held, so the sync it deferred is "pending") and rollback (`resume`)
 * ask meshSync for a full sync: an event on the account's default bus, which meshSync's rule in serverless.yml
 * (source `meshgate`, detail-type `Sync Requested`, the stage in the detail) delivers to it asynchronously. Both
 * functions hold the EventBridge client for their audit events already; invoking meshSync directly would put the
 * Lambda client (≈ 75 KB) in their bundles for this one call.
 */
export const SYNC_REQUEST_SOURCE = 'meshgate';
export const SYNC_REQUEST_DETAIL_TYPE = 'Sync Requested';

export class SyncRequestError extends MeshgateError {}

/** Puts the request on the default bus; the stage in the detail keeps another stage's meshSync from taking it. */
export function requestSyncByEvent(eventBridge: EventBridgeClient, stage: string): (reason: string) => Promise<void> {
  return async (reason) => {
    const output = await eventBridge
      .send(
        new PutEventsCommand({
          Entries: [
            {
              Source: SYNC_REQUEST_SOURCE,
              DetailType: SYNC_REQUEST_DETAIL_TYPE,
              Detail: JSON.stringify({ stage, reason }),
            },
          ],
        }),
      )
      .catch((cause: unknown) => {
        throw new SyncRequestError('could not ask meshSync for a sync', { cause, context: { stage, reason } });
      });
    const entry = output.Entries?.[0];
    if (output.FailedEntryCount || entry?.ErrorCode)
      throw new SyncRequestError(`the sync request was refused: ${entry?.ErrorCode} ${entry?.ErrorMessage ?? ''}`, {
        context: { stage, reason, errorCode: entry?.ErrorCode },
      });
  };
}
