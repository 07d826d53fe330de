import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DeclarativeKong } from '../../shared/kong/declarative.js';

/**
 * Kong's `GET /config` answers `{"config": "<YAML>"}`, written by lyaml (libyaml's emitter): nulls as `~`, strings
 * that would read as something else quoted, and scalars longer than 80 columns folded over lines (double-quoted
 * ones with a trailing `\`). The Kong double writes its YAML with another library, so this answer is written out as
 * Kong's would be.
 */
const PEM = `-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIUZ2VuZXJhdGVkLWZvci1hLXRlc3QtMDEwCgYIKoZIzj0EAwIwEjEQMA4GA1UEAwwHbWVzaC1jYTAe\n-----END CERTIFICATE-----\n`;
const LYAML_EXPORT = `_format_version: '3.0'
_transform: false
ca_certificates:
- cert: "-----BEGIN CERTIFICATE-----\\nMIIBdzCCAR2gAwIBAgIUZ2VuZXJhdGVkLWZvci1hLXRlc3QtMDEwCgYIKoZIzj0EAwIwEjEQMA4GA1UEAwwHbWVzaC1jYTAe\\n-----END\\
    \\ CERTIFICATE-----\\n"
  cert_digest: 3f1c2d
  created_at: 1700000000
  id: c0000000-0000-4000-8000-000000000001
  tags:
  - managed-by:meshgate
  - meshgate:instance=prod
services:
- client_certificate: ~
  connect_timeout: 60000
  created_at: 1700000000
  enabled: true
  host: orders.shop.svc.cluster.local.a-rather-long-host-name-that-lyaml-writes-on-one-line
  id: 50000000-0000-4000-8000-000000000001
  name: 'yes'
  path: ~
  port: 8080
  protocol: http
  retries: 5
  tags:
  - managed-by:meshgate
  - meshgate:instance=prod
  - 'team: orders'
  - '0123'
`;

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function kongAnswering(yaml: string): Promise<string> {
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/config') return res.end(JSON.stringify({ config: yaml }));
    if (req.url === '/status') return res.end(JSON.stringify({ configuration_hash: 'a'.repeat(32) }));
    res.statusCode = 404;
    res.end('{"message":"Not found"}');
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("DB-less Kong: GET /config's YAML, as lyaml writes it", () => {
  it('reads folded quoted scalars, ~ nulls and quoted look-alikes as Kong meant them', async () => {
    const kong = new DeclarativeKong({ nodes: [await kongAnswering(LYAML_EXPORT)], instance: 'prod' });
    try {
      const [certificate] = await kong.list('ca_certificate');
      expect(certificate?.cert).toBe(PEM);
      const [service] = await kong.list('service');
      expect(service).toMatchObject({
        name: 'yes',
        path: null,
        port: 8080,
        host: 'orders.shop.svc.cluster.local.a-rather-long-host-name-that-lyaml-writes-on-one-line',
        tags: ['managed-by:meshgate', 'meshgate:instance=prod', 'team: orders', '0123'],
      });
    } finally {
      kong.close();
    }
  });

  it('refuses an answer that is not one YAML mapping', async () => {
    const kong = new DeclarativeKong({ nodes: [await kongAnswering('- a\n- b\n')], instance: 'prod' });
    try {
      await expect(kong.list('service')).rejects.toThrow(/did not answer a declarative configuration/);
    } finally {
      kong.close();
    }
  });
});
