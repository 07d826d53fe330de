import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startKongDouble } from './server.js';

/**
 * `npm run local:kong -- --port P [--proxy-port Q] [--admin-token T] [--mode db|dbless|konnect]`: the Kong Admin API
 * double (and, with `--proxy-port`, Kong's proxy over the same store) in the foreground until SIGTERM. In Konnect
 * mode it serves a control plane's core-entities API and takes `--admin-token` (default: a fresh `kpat_…` token,
 * printed) as the bearer token.
 */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8001' },
    'admin-token': { type: 'string' },
    'token-header': { type: 'string' },
    /** Kong version `GET /` reports and whose schema differences the double applies (3.4 to 3.9). */
    'kong-version': { type: 'string' },
    /** Kong Enterprise workspace served under `/{name}/…` (repeatable). */
    workspace: { type: 'string', multiple: true },
    /** `db` (default), `dbless` (database = off: `/config`, entity writes 405) or `konnect` (a control plane). */
    mode: { type: 'string', default: 'db' },
    /** Konnect mode: the control plane's id in the path. */
    'control-plane': { type: 'string' },
    'proxy-port': { type: 'string' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`--port must be an integer between 0 and 65535, got '${values.port}'\n`);
  process.exit(2);
}

const mode = values.mode;
if (mode !== 'db' && mode !== 'dbless' && mode !== 'konnect') {
  process.stderr.write(`--mode must be db, dbless or konnect, got '${mode}'\n`);
  process.exit(2);
}
const controlPlane = values['control-plane'];
if (controlPlane !== undefined && !/^[0-9a-fA-F-]{36}$/.test(controlPlane)) {
  process.stderr.write(`--control-plane must be a UUID, got '${controlPlane}'\n`);
  process.exit(2);
}
const adminToken =
  values['admin-token'] ?? (mode === 'konnect' ? `kpat_${randomBytes(24).toString('base64url')}` : undefined);
const proxyPort = values['proxy-port'] === undefined ? undefined : Number(values['proxy-port']);
if (proxyPort !== undefined && (!Number.isInteger(proxyPort) || proxyPort < 0 || proxyPort > 65535)) {
  process.stderr.write(`--proxy-port must be an integer between 0 and 65535, got '${values['proxy-port']}'\n`);
  process.exit(2);
}

const kong = await startKongDouble({
  mode,
  port,
  adminToken,
  ...(controlPlane === undefined ? {} : { controlPlaneId: controlPlane }),
  tokenHeader: values['token-header'],
  version: values['kong-version'],
  ...(proxyPort === undefined ? {} : { proxyPort }),
  workspaces: values.workspace,
});
if (mode === 'konnect') {
  process.stdout.write(`Konnect control plane double listening on ${kong.adminUrl}\n`);
  if (values['admin-token'] === undefined)
    process.stdout.write(`access token (Authorization: Bearer): ${adminToken}\n`);
} else {
  process.stdout.write(
    `Kong Admin API double (Kong ${values['kong-version'] ?? '3.9.3'}) ${mode === 'dbless' ? ' DB-less' : ''} listening on ${kong.url}\n`,
  );
}
if (kong.proxy) process.stdout.write(`Kong proxy double listening on ${kong.proxy.url}\n`);

const stop = () => {
  void kong.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
// SIGUSR2 empties the store, so a harness can run many independent tests against one process (test/go-kong/run.sh).
let resets = 0;
process.on('SIGUSR2', () => {
  kong.reset();
  process.stdout.write(`reset ${++resets}\n`);
});
process.once('SIGINT', stop);
