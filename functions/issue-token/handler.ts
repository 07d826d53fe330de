import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { lazy } from '../../shared/app/context.js';
import { clientSettings } from '../../shared/aws/options.js';
import { SecretsManagerJsonClient } from '../../shared/aws/secrets-manager.js';
import { loadConfig } from '../../shared/config/index.js';
import { EventBridgeAuditPublisher } from '../../shared/events/audit.js';
import { logger } from '../../shared/lambda/observability.js';
import { issueToken, type TokenDeps, type TokenSettings } from '../../shared/tokens/issue.js';

/**
 * issueToken: behind a Lambda function URL with AWS_IAM auth, so the caller is the IAM identity that signed the
 * request (SigV4). Only this function and rotateKeys read private keys; the key never leaves this process.
 */
export function createIssueTokenHandler(getDeps: () => { deps: TokenDeps; settings: TokenSettings }) {
  return middy<APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyResultV2>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event, context: Context) => {
      const { deps, settings } = getDeps();
      const requested = requestedTtl(event);
      if (requested === 'invalid') return reply(400, { message: 'the body must be JSON: {"ttlSeconds": N} or empty' });
      const result = await issueToken(deps, settings, {
        userArn: event.requestContext?.authorizer?.iam?.userArn,
        // The function's own account, from its ARN: only roles of this account get tokens.
        ownAccount: context.invokedFunctionArn.split(':')[4] ?? '',
        ...(requested === undefined ? {} : { requestedTtlSeconds: requested }),
      });
      return reply(result.status, result.body);
    });
}

function requestedTtl(event: APIGatewayProxyEventV2WithIAMAuthorizer): number | undefined | 'invalid' {
  if (!event.body) return undefined;
  try {
    const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    const parsed = JSON.parse(text) as { ttlSeconds?: unknown };
    if (parsed.ttlSeconds === undefined) return undefined;
    return typeof parsed.ttlSeconds === 'number' ? parsed.ttlSeconds : 'invalid';
  } catch {
    return 'invalid';
  }
}

function reply(statusCode: number, body: unknown): APIGatewayProxyResultV2 {
  // Tokens must not be cached by anything between the workload and this function.
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

// Built at the first invocation (configuration validated then) and kept: only the two clients this function uses.
const composition = lazy(() => {
  const config = loadConfig();
  // The process's credentials on Lambda; in the local stack, the issueToken role's (shared/aws/options.ts).
  const { common } = clientSettings();
  const secretsManager = new SecretsManagerJsonClient(common);
  const audit = new EventBridgeAuditPublisher(
    new EventBridgeClient(common),
    config.AUDIT_BUS_NAME,
    config.MESHGATE_INSTANCE,
  );
  return {
    deps: { secretsManager, audit },
    settings: {
      ttlSeconds: Math.round(config.TOKEN_TTL / 1000),
      graceMs: config.KEY_GRACE_PERIOD,
      ...(config.TOKEN_ISSUER ? { issuer: config.TOKEN_ISSUER } : {}),
      ...(config.TOKEN_AUDIENCE ? { audience: config.TOKEN_AUDIENCE } : {}),
    },
  };
});
export const handler = createIssueTokenHandler(composition);
