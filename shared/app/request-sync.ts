import { InvocationType, InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { functionName } from './ports.js';

/** Asks the deployed meshSync for a full sync, asynchronously (as EventBridge would). */
export function requestSyncByInvoke(lambda: LambdaClient, stage: string): (reason: string) => Promise<void> {
  return async (reason) => {
    await lambda.send(
      new InvokeCommand({
        FunctionName: functionName(stage, 'meshSync'),
        InvocationType: InvocationType.Event,
        Payload: Buffer.from(JSON.stringify({ action: 'sync', reason })),
      }),
    );
  };
}
