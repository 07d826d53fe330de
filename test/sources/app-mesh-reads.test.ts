import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppMeshError, AppMeshReadClient } from '../../shared/aws/app-mesh-reads.js';

/** A scripted App Mesh endpoint: answers in order (the last one repeats) and keeps every request it got. */
let server: Server;
let url: string;
let answers: { status: number; headers?: Record<string, string>; body?: unknown }[] = [];
let seen: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push(request);
    const answer = answers.length > 1 ? (answers.shift() as (typeof answers)[number]) : answers[0];
    response.writeHead(answer?.status ?? 200, { 'content-type': 'application/json', ...answer?.headers });
    response.end(answer?.body === undefined ? '' : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

beforeEach(() => {
  answers = [{ status: 200, body: {} }];
  seen = [];
});

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const client = (env: NodeJS.ProcessEnv = { AWS_ENDPOINT_URL_APP_MESH: url }) =>
  new AppMeshReadClient({ region: 'eu-west-1', credentials }, env);

describe('App Mesh reads without the SDK client', () => {
  it('sends REST-JSON GETs: path segments encoded, paging in the query, signed for appmesh in the region', async () => {
    answers = [{ status: 200, body: { gatewayRoutes: [{ gatewayRouteName: 'r' }], nextToken: 'n2' } }];
    const page = await client().listGatewayRoutes({
      meshName: 'apps',
      virtualGatewayName: 'gw (blue)',
      nextToken: 'n1',
      limit: 2,
    });

    expect(page).toEqual({ gatewayRoutes: [{ gatewayRouteName: 'r' }], nextToken: 'n2' });
    expect(seen[0]?.method).toBe('GET');
    expect(seen[0]?.url).toBe(
      '/v20190125/meshes/apps/virtualGateway/gw%20%28blue%29/gatewayRoutes?limit=2&nextToken=n1',
    );
    expect(seen[0]?.headers.authorization).toMatch(/Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/appmesh\/aws4_request/);
  });

  it('answers a Describe with the object itself, and tags by ARN in the query', async () => {
    answers = [{ status: 200, body: { meshName: 'apps', virtualServiceName: 'a.apps.local' } }];
    expect(await client().describeVirtualService({ meshName: 'apps', virtualServiceName: 'a.apps.local' })).toEqual({
      meshName: 'apps',
      virtualServiceName: 'a.apps.local',
    });
    await client().listTagsForResource({ resourceArn: 'arn:aws:appmesh:eu-west-1:1:mesh/apps' });
    expect(seen.map((request) => request.url)).toEqual([
      '/v20190125/meshes/apps/virtualServices/a.apps.local',
      '/v20190125/tags?resourceArn=arn%3Aaws%3Aappmesh%3Aeu-west-1%3A1%3Amesh%2Fapps',
    ]);
  });

  it('takes the endpoint as the SDK does: App Mesh own, then the general one, unless told to ignore both', () => {
    const endpoint = (env: NodeJS.ProcessEnv) => (client(env) as unknown as { endpoint: URL }).endpoint.href;
    expect(endpoint({ AWS_ENDPOINT_URL_APP_MESH: 'http://mesh:1/', AWS_ENDPOINT_URL: 'http://all:2/' })).toBe(
      'http://mesh:1/',
    );
    expect(endpoint({ AWS_ENDPOINT_URL: 'http://all:2/' })).toBe('http://all:2/');
    expect(endpoint({ AWS_ENDPOINT_URL: 'http://all:2/', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBe(
      'https://appmesh.eu-west-1.amazonaws.com/',
    );
  });

  it('names errors by App Mesh code from the header or the body, with status and attempts', async () => {
    answers = [
      {
        status: 404,
        headers: { 'x-amzn-ErrorType': 'NotFoundException:http://internal.amazon.com/coral/com.amazonaws.appmesh/' },
        body: { message: "The specified resource doesn't exist." },
      },
    ];
    const notFound = await client()
      .describeVirtualGateway({ meshName: 'apps', virtualGatewayName: 'gone' })
      .catch((error: unknown) => error);
    expect(notFound).toBeInstanceOf(AppMeshError);
    expect(notFound).toMatchObject({
      name: 'NotFoundException',
      message: "The specified resource doesn't exist.",
      $metadata: { httpStatusCode: 404, attempts: 1 },
    });

    answers = [{ status: 403, body: { __type: 'com.amazonaws.appmesh#ForbiddenException', message: 'no' } }];
    await expect(client().listVirtualServices({ meshName: 'apps' })).rejects.toMatchObject({
      name: 'ForbiddenException',
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('retries throttling and 5xx up to 3 attempts, then gives up with the last answer', async () => {
    answers = [
      { status: 429, body: { message: 'slow down' }, headers: { 'x-amzn-ErrorType': 'TooManyRequestsException' } },
      { status: 500, body: { message: 'oops' }, headers: { 'x-amzn-ErrorType': 'InternalServerErrorException' } },
      { status: 200, body: { virtualGateways: [] } },
    ];
    expect(await client().listVirtualGateways({ meshName: 'apps' })).toEqual({ virtualGateways: [] });
    expect(seen).toHaveLength(3);

    seen = [];
    answers = [
      { status: 503, body: { message: 'down' }, headers: { 'x-amzn-ErrorType': 'ServiceUnavailableException' } },
    ];
    await expect(client().listVirtualGateways({ meshName: 'apps' })).rejects.toMatchObject({
      name: 'ServiceUnavailableException',
      $metadata: { httpStatusCode: 503, attempts: 3 },
    });
    expect(seen).toHaveLength(3);

    seen = [];
    answers = [{ status: 400, body: { message: 'bad' }, headers: { 'x-amzn-ErrorType': 'BadRequestException' } }];
    await expect(client().listVirtualGateways({ meshName: 'apps' })).rejects.toMatchObject({
      name: 'BadRequestException',
    });
    expect(seen).toHaveLength(1);
  });

  it('throws the connection error, with no HTTP status, when nothing answers', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await client({ AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` })
      .listVirtualGateways({ meshName: 'apps' })
      .catch((caught: unknown) => caught);

    expect(error).not.toBeInstanceOf(AppMeshError);
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect((error as { $metadata?: unknown }).$metadata).toBeUndefined();
  });

  it('stops at once when the call is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('Lambda timeout near'));
    await expect(client().listVirtualGateways({ meshName: 'apps' }, controller.signal)).rejects.toThrow(
      'Lambda timeout near',
    );
    expect(seen).toHaveLength(0);
  });
});
