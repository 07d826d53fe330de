import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  DiscoverInstancesCommand,
  GetOperationCommand,
  RegisterInstanceCommand,
} from '@aws-sdk/client-servicediscovery';
import { describe, expect, it, vi } from 'vitest';
import { CloudMapError, CloudMapReadClient, cloudMapEndpoints } from '../../shared/aws/cloud-map-reads.js';
import { requestTo, SignedHttp } from '../../shared/aws/signed-http.js';
import { useAwsDouble } from '../local/aws/double.js';

const aws = useAwsDouble();
const credentials = { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' };
const reads = (env: NodeJS.ProcessEnv = { AWS_ENDPOINT_URL: aws.double().url }) =>
  new CloudMapReadClient({ region: aws.double().region, credentials }, env);
const operations = () => aws.double().requests.entries.map((entry) => `${entry.method} ${entry.operation}`);

/** A namespace `apps.local` with the service `orders` (tagged) and one instance, set up through the SDK. */
async function ordersService(): Promise<{ namespaceId: string; serviceId: string; serviceArn: string }> {
  const sdk = aws.clients().serviceDiscovery;
  const { OperationId } = await sdk.send(new CreateHttpNamespaceCommand({ Name: 'apps.local' }));
  const { Operation } = await sdk.send(new GetOperationCommand({ OperationId }));
  const namespaceId = Operation?.Targets?.NAMESPACE as string;
  const { Service } = await sdk.send(
    new CreateServiceCommand({
      Name: 'orders',
      NamespaceId: namespaceId,
      Tags: [{ Key: 'meshgate:expose', Value: 'true' }],
    }),
  );
  await sdk.send(
    new RegisterInstanceCommand({
      ServiceId: Service?.Id,
      InstanceId: 'orders-1',
      Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1', AWS_INSTANCE_PORT: '8080' },
    }),
  );
  aws.double().requests.clear();
  return { namespaceId, serviceId: Service?.Id as string, serviceArn: Service?.Arn as string };
}

const discoverOrders = { NamespaceName: 'apps.local', ServiceName: 'orders', HealthStatus: 'ALL' as const };

describe('Cloud Map reads without the SDK client, against the AWS double', () => {
  it('reads what the SDK reads, each call a JSON 1.1 POST naming its operation in X-Amz-Target', async () => {
    const { namespaceId, serviceId, serviceArn } = await ordersService();
    const client = reads();

    const { Namespaces = [] } = await client.listNamespaces({});
    expect(Namespaces.map(({ Id, Name }) => ({ Id, Name }))).toEqual([{ Id: namespaceId, Name: 'apps.local' }]);
    const { Services = [] } = await client.listServices({
      Filters: [{ Name: 'NAMESPACE_ID', Values: [namespaceId], Condition: 'EQ' }],
    });
    expect(Services.map(({ Id, Arn, Name }) => ({ Id, Arn, Name }))).toEqual([
      { Id: serviceId, Arn: serviceArn, Name: 'orders' },
    ]);
    const { $metadata, ...bySdk } = await aws
      .clients()
      .serviceDiscovery.send(new DiscoverInstancesCommand(discoverOrders));
    expect(await client.discoverInstances(discoverOrders)).toEqual(bySdk);
    expect(bySdk.Instances?.[0]?.Attributes).toEqual({ AWS_INSTANCE_IPV4: '10.0.0.1', AWS_INSTANCE_PORT: '8080' });
    expect(await client.listTagsForResource({ ResourceARN: serviceArn })).toEqual({
      Tags: [{ Key: 'meshgate:expose', Value: 'true' }],
    });
    expect((await client.getService({ Id: serviceId })).Service).toMatchObject({
      Name: 'orders',
      NamespaceId: namespaceId,
    });
    expect((await client.getNamespace({ Id: namespaceId })).Namespace).toMatchObject({ Name: 'apps.local' });

    // The bench counts calls by the operation the double reads from X-Amz-Target.
    expect(operations()).toEqual([
      'POST ListNamespaces',
      'POST ListServices',
      'POST DiscoverInstances',
      'POST DiscoverInstances',
      'POST ListTagsForResource',
      'POST GetService',
      'POST GetNamespace',
    ]);
    client.destroy();
  });

  it('the double refuses what Cloud Map refuses: no target, an unknown target, a body that is not JSON', async () => {
    const http = new SignedHttp({
      region: aws.double().region,
      credentials,
      service: 'servicediscovery',
      maxAttempts: 1,
    });
    const post = async (headers: Record<string, string>, body: string) => {
      const request = requestTo(new URL(aws.double().url), {
        method: 'POST',
        path: '/',
        query: {},
        headers: { 'content-type': 'application/x-amz-json-1.1', ...headers },
        body,
      });
      const outcome = await http.send(request, () => false);
      if (!('answer' in outcome)) throw outcome.failure;
      return { status: outcome.answer.status, type: (JSON.parse(outcome.answer.body) as { __type: string }).__type };
    };

    expect(await post({}, '{}')).toEqual({ status: 400, type: 'UnknownOperationException' });
    expect(await post({ 'x-amz-target': 'Route53AutoNaming_v20170314.DescribeEverything' }, '{}')).toEqual({
      status: 400,
      type: 'UnknownOperationException',
    });
    expect(await post({ 'x-amz-target': 'Route53AutoNaming_v20170314.ListNamespaces' }, '{"MaxResults":')).toEqual({
      status: 400,
      type: 'SerializationException',
    });
    http.destroy();
  });

  it('names errors by Cloud Map code, with HTTP status and attempts; a client error is not retried', async () => {
    await ordersService();
    const gone = await reads()
      .discoverInstances({ ...discoverOrders, ServiceName: 'gone' })
      .catch((error: unknown) => error);
    expect(gone).toBeInstanceOf(CloudMapError);
    expect(gone).toMatchObject({
      name: 'ServiceNotFound',
      message: 'No service gone in apps.local.',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });

    aws.double().faults.inject({
      match: (request) => request.operation === 'DiscoverInstances',
      status: 400,
      body: { code: 'AccessDeniedException', message: 'not authorized' },
    });
    await expect(reads().discoverInstances(discoverOrders)).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
    expect(operations()).toEqual(['POST DiscoverInstances', 'POST DiscoverInstances']);
  });

  it('retries throttling (ThrottlingException, RequestLimitExceeded, 429) and 5xx, up to 3 attempts', async () => {
    await ordersService();
    const faults = aws.double().faults;
    const discover = (request: { operation?: string }) => request.operation === 'DiscoverInstances';
    faults.inject({ match: discover, status: 400, body: { code: 'ThrottlingException', message: 'Rate exceeded' } });
    faults.inject({ match: discover, status: 400, body: { code: 'RequestLimitExceeded', message: 'quota' } });
    expect((await reads().discoverInstances(discoverOrders)).Instances).toHaveLength(1);
    expect(operations()).toHaveLength(3);

    faults.clear();
    aws.double().requests.clear();
    faults.inject({ match: discover, status: 429, body: { code: 'TooManyRequests', message: 'slow down' } });
    faults.inject({ match: discover, status: 500, body: { code: 'InternalFailure', message: 'oops' } });
    expect((await reads().discoverInstances(discoverOrders)).Instances).toHaveLength(1);
    expect(operations()).toHaveLength(3);

    faults.clear();
    aws.double().requests.clear();
    faults.inject({
      match: discover,
      times: Infinity,
      status: 503,
      body: { code: 'ServiceUnavailable', message: 'down' },
    });
    await expect(reads().discoverInstances(discoverOrders)).rejects.toMatchObject({
      name: 'ServiceUnavailable',
      message: 'down',
      $metadata: { httpStatusCode: 503, attempts: 3 },
    });
    expect(operations()).toHaveLength(3);
  });

  it('throws the connection error, with no HTTP status, when nothing answers', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await reads({ AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` })
      .listNamespaces({})
      .catch((caught: unknown) => caught);

    expect(error).not.toBeInstanceOf(CloudMapError);
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect((error as { $metadata?: unknown }).$metadata).toBeUndefined();
  });

  it('ends a request in flight when its signal aborts, and sends none once aborted', async () => {
    await ordersService();
    aws.double().faults.inject({ match: (request) => request.operation === 'DiscoverInstances', delayMs: 30_000 });
    const controller = new AbortController();
    const pending = reads().discoverInstances(discoverOrders, controller.signal);
    await vi.waitFor(() => expect(operations()).toEqual(['POST DiscoverInstances']));
    controller.abort(new Error('Lambda timeout near'));
    await expect(pending).rejects.toThrow('Lambda timeout near');

    await expect(reads().listNamespaces({}, controller.signal)).rejects.toThrow('Lambda timeout near');
    expect(operations()).toEqual(['POST DiscoverInstances']);
  });
});

describe('Cloud Map endpoints', () => {
  it("as the SDK's: Cloud Map's own, then the general one (as is, no host prefix), unless told to ignore both", () => {
    /** Where ListServices and DiscoverInstances go. */
    const endpoints = (env: NodeJS.ProcessEnv, region = 'eu-west-1') => {
      const endpointOf = cloudMapEndpoints(env, region);
      return [endpointOf('ListServices').href, endpointOf('DiscoverInstances').href];
    };
    expect(
      endpoints({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: 'http://cloudmap:1/', AWS_ENDPOINT_URL: 'http://all:2/' }),
    ).toEqual(['http://cloudmap:1/', 'http://cloudmap:1/']);
    expect(endpoints({ AWS_ENDPOINT_URL: 'http://all:2/' })).toEqual(['http://all:2/', 'http://all:2/']);
    // On AWS, DiscoverInstances goes to the data plane: the operation's host prefix `data-`.
    expect(endpoints({ AWS_ENDPOINT_URL: 'http://all:2/', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toEqual([
      'https://servicediscovery.eu-west-1.amazonaws.com/',
      'https://data-servicediscovery.eu-west-1.amazonaws.com/',
    ]);
    expect(endpoints({}, 'cn-north-1')).toEqual([
      'https://servicediscovery.cn-north-1.amazonaws.com.cn/',
      'https://data-servicediscovery.cn-north-1.amazonaws.com.cn/',
    ]);
  });
});
