import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsDouble, startAwsDouble } from '../../../local/aws/server.js';

let double: AwsDouble;
let lambda: LambdaClient;

beforeAll(async () => {
  double = await startAwsDouble();
  lambda = new LambdaClient({
    endpoint: double.url,
    region: double.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  lambda.destroy();
  await double.close();
});

const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = (bytes: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(bytes));

describe('Lambda double: Invoke', () => {
  it('answers a RequestResponse invocation with the handler result, by name or ARN', async () => {
    double.registerFunction('echo', async (event, context) => ({ got: event, name: context.functionName }));
    const byName = await lambda.send(new InvokeCommand({ FunctionName: 'echo', Payload: payload({ a: 1 }) }));
    expect(byName.StatusCode).toBe(200);
    expect(byName.FunctionError).toBeUndefined();
    expect(decode(byName.Payload)).toEqual({ got: { a: 1 }, name: 'echo' });

    const arn = `arn:aws:lambda:${double.region}:${double.account}:function:echo`;
    const byArn = await lambda.send(new InvokeCommand({ FunctionName: arn, Payload: payload({ b: 2 }) }));
    expect(decode(byArn.Payload)).toEqual({ got: { b: 2 }, name: 'echo' });
  });

  it('reports a handler error as 200 with FunctionError Unhandled and {errorType, errorMessage}', async () => {
    class RotationBroke extends Error {
      override name = 'RotationBroke';
    }
    double.registerFunction('broken', async () => {
      throw new RotationBroke('setSecret failed');
    });
    const result = await lambda.send(new InvokeCommand({ FunctionName: 'broken', Payload: payload({}) }));
    expect(result.StatusCode).toBe(200);
    expect(result.FunctionError).toBe('Unhandled');
    expect(decode(result.Payload)).toMatchObject({ errorType: 'RotationBroke', errorMessage: 'setSecret failed' });
  });

  it('answers 404 ResourceNotFoundException for an unknown function, for either invocation type', async () => {
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'missing' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(
      lambda.send(new InvokeCommand({ FunctionName: 'missing', InvocationType: 'Event' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('accepts an Event invocation with 202 and runs the handler in the background', async () => {
    let resolveSeen: (event: unknown) => void = () => {};
    const seen = new Promise((resolve) => {
      resolveSeen = resolve;
    });
    double.registerFunction('async', async (event) => {
      resolveSeen(event);
    });
    const result = await lambda.send(
      new InvokeCommand({ FunctionName: 'async', InvocationType: 'Event', Payload: payload({ c: 3 }) }),
    );
    expect(result.StatusCode).toBe(202);
    expect(await seen).toEqual({ c: 3 });
  });
});
