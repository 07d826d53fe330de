import { correlationIdPlugin } from './correlation-id.js';
import { jwtPlugin } from './jwt.js';
import { opentelemetryPlugin } from './opentelemetry.js';
import type { PluginSchema } from './plugin.js';
import { requestTerminationPlugin } from './request-termination.js';

/** Plugins Kong 3.9.3 bundles (kong/constants.lua) and their priorities; config is modelled for four of them. */
const ACCEPTED_AS_GIVEN: [string, number][] = [
  ['acl', 950],
  ['acme', 1705],
  ['ai-prompt-decorator', 772],
  ['ai-prompt-guard', 771],
  ['ai-prompt-template', 773],
  ['ai-proxy', 770],
  ['ai-request-transformer', 777],
  ['ai-response-transformer', 768],
  ['aws-lambda', 750],
  ['azure-functions', 749],
  ['basic-auth', 1100],
  ['bot-detection', 2500],
  ['cors', 2000],
  ['datadog', 10],
  ['file-log', 9],
  ['grpc-gateway', 998],
  ['grpc-web', 3],
  ['hmac-auth', 1030],
  ['http-log', 12],
  ['ip-restriction', 990],
  ['key-auth', 1250],
  ['ldap-auth', 1200],
  ['loggly', 6],
  ['oauth2', 1400],
  ['post-function', -1000],
  ['pre-function', 1000000],
  ['prometheus', 13],
  ['proxy-cache', 100],
  ['rate-limiting', 910],
  ['redirect', 779],
  ['request-size-limiting', 951],
  ['request-transformer', 801],
  ['response-ratelimiting', 900],
  ['response-transformer', 800],
  ['session', 1900],
  ['standard-webhooks', 760],
  ['statsd', 11],
  ['syslog', 4],
  ['tcp-log', 7],
  ['udp-log', 8],
  ['zipkin', 100000],
];

export const bundledPlugins: ReadonlyMap<string, PluginSchema> = new Map(
  [
    jwtPlugin,
    correlationIdPlugin,
    opentelemetryPlugin,
    requestTerminationPlugin,
    ...ACCEPTED_AS_GIVEN.map(([name, priority]) => ({ name, priority, httpOnly: false, noConsumer: false })),
  ]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((plugin) => [plugin.name, plugin]),
);
