import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { roleForAccessKey } from './identity.js';

/**
 * A Lambda function URL with `AWS_IAM` auth: the request must carry a valid SigV4 signature (service `lambda`)
 * made with role-bound credentials of the double (identity.ts); the handler then receives the event Lambda builds,
 * with the signer as `requestContext.authorizer.iam`. Anything unsigned or badly signed gets Lambda's 403
 * `{"Message":"Forbidden"}` and never reaches the handler.
 */
export type FunctionUrlHandler = (event: Record<string, unknown>, context: Record<string, unknown>) => Promise<unknown>;

export interface FunctionUrl {
  readonly url: string;
  close(): Promise<void>;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (each path segment once, query keys and values). */
const encode = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

interface Signed {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(value: string | undefined): Signed | undefined {
  const found =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      value ?? '',
    );
  if (!found) return undefined;
  return {
    accessKeyId: found[1] as string,
    date: found[2] as string,
    region: found[3] as string,
    service: found[4] as string,
    signedHeaders: (found[5] as string).split(';'),
    signature: found[6] as string,
  };
}

/** The SigV4 signature of this request with `secret` (AWS's "Create a signed AWS API request" steps 1-4). */
export function sigv4Signature(
  req: { method: string; path: string; query: URLSearchParams; headers: IncomingMessage['headers'] },
  body: Buffer,
  signed: Omit<Signed, 'signature' | 'accessKeyId'>,
  secret: string,
): string {
  const canonicalUri = req.path
    .split('/')
    .map((segment) => encode(decodeURIComponent(segment)))
    .join('/');
  const canonicalQuery = [...req.query.entries()]
    .map(([k, v]): [string, string] => [encode(k), encode(v)])
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = signed.signedHeaders
    .map((name) => {
      const value = req.headers[name];
      const text = Array.isArray(value) ? value.join(',') : (value ?? '');
      return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  // The payload hash is always the body's own: a declared x-amz-content-sha256 that differs fails the signature.
  const declared = req.headers['x-amz-content-sha256'];
  const payloadHash = sha256(body);
  if (declared !== undefined && declared !== payloadHash) return '';
  const canonicalRequest = [
    req.method,
    canonicalUri || '/',
    canonicalQuery,
    canonicalHeaders,
    signed.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${signed.date}/${signed.region}/${signed.service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    String(req.headers['x-amz-date'] ?? ''),
    scope,
    sha256(canonicalRequest),
  ].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, signed.date), signed.region), signed.service), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

export async function startFunctionUrl(
  handler: FunctionUrlHandler,
  options: { functionArn: string; region: string; port?: number },
): Promise<FunctionUrl> {
  const forbidden = { statusCode: 403, body: JSON.stringify({ Message: 'Forbidden' }) };
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://placeholder');
      const signed = parseAuthorization(req.headers.authorization);
      const owner = signed ? roleForAccessKey(signed.accessKeyId) : undefined;
      let result: { statusCode: number; headers?: Record<string, string>; body?: string } = forbidden;
      if (signed && owner && signed.service === 'lambda' && signed.signedHeaders.includes('host')) {
        const expected = sigv4Signature(
          { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers },
          body,
          signed,
          owner.secretAccessKey,
        );
        if (
          expected.length === signed.signature.length &&
          timingSafeEqual(Buffer.from(expected), Buffer.from(signed.signature))
        ) {
          // arn:aws:iam::<account>:role[/<path>]/<name> signs as arn:aws:sts::<account>:assumed-role/<name>/<session>.
          const account = owner.roleArn.split(':')[4];
          const name = owner.roleArn.split('/').pop();
          const userArn = `arn:aws:sts::${account}:assumed-role/${name}/meshgate-local`;
          const event = {
            version: '2.0',
            rawPath: url.pathname,
            rawQueryString: url.searchParams.toString(),
            headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
            requestContext: {
              http: { method: req.method, path: url.pathname },
              authorizer: { iam: { accessKey: signed.accessKeyId, accountId: account, userArn } },
            },
            body: body.length > 0 ? body.toString('utf8') : undefined,
            isBase64Encoded: false,
          };
          const context = { invokedFunctionArn: options.functionArn, awsRequestId: 'local', functionName: 'local' };
          result = (await handler(event, context)) as typeof result;
        }
      }
      res.writeHead(result.statusCode, { 'content-type': 'application/json', ...result.headers });
      res.end(result.body);
    })().catch((error: unknown) => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ Message: `function error: ${String(error)}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
