import { parseArgs } from 'node:util';
import { startKongDouble } from './server.js';

/**
 * `npm run local:kong -- --port P [--proxy-port Q] [--admin-token T]`: the Kong Admin API double (and, with
 * `--proxy-port`, Kong's proxy over the same store) in the foreground until SIGTERM.
 */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8001' },
    'admin-token': { type: 'string' },
    'token-header': { type: 'string' },
    'proxy-port': { type: 'string' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`--port must be an integer between 0 and 65535, got '${values.port}'\n`);
  process.exit(2);
}

const proxyPort = values['proxy-port'] === undefined ? undefined : Number(values['proxy-port']);
if (proxyPort !== undefined && (!Number.isInteger(proxyPort) || proxyPort < 0 || proxyPort > 65535)) {
  process.stderr.write(`--proxy-port must be an integer between 0 and 65535, got '${values['proxy-port']}'\n`);
  process.exit(2);
}

const kong = await startKongDouble({
  port,
  adminToken: values['admin-token'],
  tokenHeader: values['token-header'],
  ...(proxyPort === undefined ? {} : { proxyPort }),
});
process.stdout.write(`Kong Admin API double (Kong 3.9.3) listening on ${kong.url}\n`);
if (kong.proxy) process.stdout.write(`Kong proxy double listening on ${kong.proxy.url}\n`);

const stop = () => {
  void kong.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
