import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { MeshgateError } from '../shared/errors.js';

export class RemoteInvokeError extends MeshgateError {}

/**
 * Invokes a deployed meshgate function and returns its JSON result (`--remote`: operators often cannot reach
 * Kong's Admin API directly, the function can). A function error becomes a RemoteInvokeError with its message.
 */
export async function invokeRemote(lambda: LambdaClient, functionName: string, payload: unknown): Promise<unknown> {
  const output = await lambda
    .send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(payload)) }))
    .catch((cause: unknown) => {
      throw new RemoteInvokeError(`could not invoke ${functionName}`, { cause, context: { functionName } });
    });
  const text = output.Payload ? Buffer.from(output.Payload).toString('utf8') : '';
  const result: unknown = text ? JSON.parse(text) : undefined;
  if (output.FunctionError) {
    const message = (result as { errorMessage?: string } | undefined)?.errorMessage ?? output.FunctionError;
    throw new RemoteInvokeError(`${functionName} failed: ${message}`, { context: { functionName } });
  }
  return result;
}
