/**
 * The pieces of the demo's chain-of-custody step: a stub of the mesh's ingress gateway (Envoy behind a TLS
 * listener, serving a certificate the mesh CA signed), a workload that asks the issueToken function URL for a token
 * with its IAM role (SigV4 by the AWS SDK's own signer), and a mesh service's check of that token against the JWKS
 * Kong publishes at the edge.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { credentialsForRole } from '../aws/identity.js';
import type { TestPki } from '../tls/certificates.js';

/** What the stub gateway saw of one request. */
export interface GatewayRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The TLS protocol the hop from Kong used (e.g. TLSv1.3). */
  tlsProtocol: string | null;
}

export interface StubGateway {
  readonly port: number;
  readonly seen: GatewayRequest[];
  close(): Promise<void>;
}

/** An HTTPS-only listener with the gateway's certificate; answers 200 with what it received. */
export async function startStubGateway(pki: TestPki): Promise<StubGateway> {
  const seen: GatewayRequest[] = [];
  const server = createServer({ key: pki.serverKey, cert: pki.serverCert }, (req, res) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      tlsProtocol: (req.socket as TLSSocket).getProtocol?.() ?? null,
    });
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ served: 'ledger', path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Whether a TLS client trusting only `ca` (or, without it, the system's roots) accepts the gateway's certificate for
 * `servername`: the mesh CA is what makes Kong's verified hop succeed.
 */
export function gatewayTrusted(port: number, servername: string, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, servername, path: '/', ...(ca ? { ca } : {}) }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

export interface IssuedToken {
  status: number;
  body: { token?: string; kid?: string; consumer?: string; expiresAt?: string; message?: string };
}

/** POST to the function URL as `roleArn` would from its workload: the request signed with the SDK's SigV4 signer. */
export async function requestToken(functionUrl: string, roleArn: string, region: string): Promise<IssuedToken> {
  const url = new URL(functionUrl);
  const body = JSON.stringify({ ttlSeconds: 900 });
  const signer = new SignatureV4({
    service: 'lambda',
    region,
    credentials: credentialsForRole(roleArn, 'ledger-workload-task'),
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: {},
    headers: { host: url.host, 'content-type': 'application/json' },
    body,
  });
  const response = await fetch(functionUrl, { method: 'POST', headers: signed.headers, body });
  return { status: response.status, body: (await response.json()) as IssuedToken['body'] };
}

/** A W3C trace context the workload starts its request with. */
export function newTraceContext(): { traceId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

/**
 * How a service inside the mesh checks a caller's token: fetch the JWKS Kong serves at the edge and verify the
 * signature with the key whose `kid` the token names (jose). Returns the kid verified, or why not.
 */
export async function verifyWithEdgeJwks(
  jwksUrl: string,
  token: string,
): Promise<{ ok: true; kid: string; keys: string[] } | { ok: false; reason: string }> {
  const response = await fetch(jwksUrl);
  if (response.status !== 200) return { ok: false, reason: `GET ${jwksUrl} answered ${response.status}` };
  const jwks = (await response.json()) as JSONWebKeySet;
  try {
    await jwtVerify(token, createLocalJWKSet(jwks));
    return {
      ok: true,
      kid: String(decodeProtectedHeader(token).kid),
      keys: jwks.keys.map((key) => String(key.kid)),
    };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
