import { setImmediate as nextTurn } from 'node:timers/promises';
import { AwsServiceError, type AwsServiceModule } from '../protocol.js';

/**
 * Lambda Invoke (REST-JSON `POST /2015-03-31/functions/{FunctionName}/invocations`) over the handlers registered
 * with `double.registerFunction`. RequestResponse answers 200 with the handler's result; a handler error is still
 * 200, flagged `X-Amz-Function-Error: Unhandled` with `{errorType, errorMessage}` (as Lambda does). Event answers
 * 202 and runs the handler in the background (its failure is dropped); DryRun answers 204.
 */
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/;
/** GetFunctionConfiguration: the function's role and environment, as registered with the double. */
const CONFIGURATION_PATH = /^\/2015-03-31\/functions\/([^/]+)\/configuration\/?$/;

export function createLambdaService(): AwsServiceModule {
  return {
    signingName: 'lambda',
    protocol: 'rest-json',
    operationOf: (request) =>
      INVOKE_PATH.test(request.path)
        ? 'Invoke'
        : CONFIGURATION_PATH.test(request.path)
          ? 'GetFunctionConfiguration'
          : undefined,
    iamCall(request, where) {
      const invoked = INVOKE_PATH.exec(request.path)?.[1];
      const configured = CONFIGURATION_PATH.exec(request.path)?.[1];
      const name = invoked ?? configured;
      if (!name) return undefined;
      const decoded = decodeURIComponent(name);
      const arn = decoded.startsWith('arn:')
        ? decoded
        : `arn:aws:lambda:${where.region}:${where.account}:function:${decoded}`;
      return { action: invoked ? 'lambda:InvokeFunction' : 'lambda:GetFunctionConfiguration', resources: [arn] };
    },
    reset: () => {},
    async handle(request, context) {
      const configured = CONFIGURATION_PATH.exec(request.path);
      if (request.method === 'GET' && configured) {
        const configuration = context.functionConfiguration(decodeURIComponent(configured[1]!));
        return {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            FunctionName: configuration.name,
            FunctionArn: `arn:aws:lambda:${context.region}:${context.account}:function:${configuration.name}`,
            Runtime: 'nodejs24.x',
            ...(configuration.role ? { Role: configuration.role } : {}),
            ...(configuration.environment ? { Environment: { Variables: configuration.environment } } : {}),
            State: 'Active',
            PackageType: 'Zip',
          }),
        };
      }
      const match = INVOKE_PATH.exec(request.path);
      if (request.method !== 'POST' || !match) {
        throw new AwsServiceError(
          'UnknownOperationException',
          `Lambda serves no ${request.method} ${request.path}`,
          404,
        );
      }
      const functionName = decodeURIComponent(match[1]!);
      const payload = parsePayload(request.body);
      const invocationType = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
      const headers = { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' };

      if (invocationType === 'RequestResponse') {
        try {
          const result = await context.invokeFunction(functionName, payload);
          return { status: 200, headers, body: JSON.stringify(result ?? null) };
        } catch (error) {
          if (isFunctionNotFound(error)) throw error;
          return {
            status: 200,
            headers: { ...headers, 'x-amz-function-error': 'Unhandled' },
            body: JSON.stringify(functionError(error)),
          };
        }
      }
      if (invocationType === 'Event') {
        // The double finds the function synchronously: a missing one has rejected by the next turn of the loop.
        let notFound: unknown;
        context.invokeFunction(functionName, payload).catch((error: unknown) => {
          if (isFunctionNotFound(error)) notFound = error;
        });
        await nextTurn();
        if (notFound) throw notFound;
        return { status: 202, headers, body: '' };
      }
      // DryRun would check permissions, which the double does not model.
      if (invocationType === 'DryRun') return { status: 204, headers, body: '' };
      throw new AwsServiceError(
        'InvalidParameterValueException',
        `X-Amz-Invocation-Type '${invocationType}' must be RequestResponse, Event or DryRun`,
      );
    },
  };
}

function parsePayload(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new AwsServiceError('InvalidRequestContentException', 'Could not parse request body into json');
  }
}

function isFunctionNotFound(error: unknown): error is AwsServiceError {
  return error instanceof AwsServiceError && error.code === 'ResourceNotFoundException' && error.status === 404;
}

function functionError(error: unknown): { errorType: string; errorMessage: string; trace: string[] } {
  if (error instanceof Error) {
    return { errorType: error.name || 'Error', errorMessage: error.message, trace: [] };
  }
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}
