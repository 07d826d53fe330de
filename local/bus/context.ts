/** The Lambda context object handed to handlers: what Powertools' `injectLambdaContext` and handlers read. */
import { randomBytes } from 'node:crypto';
import type { FunctionSpec } from './rules.js';

export interface LambdaContext {
  awsRequestId: string;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

export function lambdaContext(
  spec: FunctionSpec,
  requestId: string,
  where: { account: string; region: string },
  deadline: number,
): LambdaContext {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    awsRequestId: requestId,
    functionName: spec.deployedName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${where.region}:${where.account}:function:${spec.deployedName}`,
    memoryLimitInMB: String(spec.memorySizeMB),
    logGroupName: `/aws/lambda/${spec.deployedName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}
