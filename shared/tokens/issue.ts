import type { SecretsManagerCalls } from '../aws/secrets-manager.js';
import { readConsumers } from '../consumers/index.js';
import { AWSCURRENT, MESHGATE_REVOKED, readKeyVersion } from '../consumers/secrets.js';
import { MeshgateError } from '../errors.js';
import type { AuditPublisher } from '../events/audit.js';
import { callerVerdict, sameRole } from './identity.js';
import { signToken } from './jwt.js';

export class TokenError extends MeshgateError {}

export const DEFAULT_TOKEN_TTL_SECONDS = 900;
/** The grace period a retired key's credential lives: a token must not outlive it. */
export const MAX_TOKEN_TTL_SECONDS = 3600;

export interface TokenSettings {
  ttlSeconds: number;
  issuer?: string;
  audience?: string;
  /** KEY_GRACE_PERIOD: which keys readConsumers reports as live. */
  graceMs: number;
}

export interface TokenDeps {
  secretsManager: SecretsManagerCalls;
  audit?: AuditPublisher;
  now?: () => Date;
}

export type TokenResult =
  | { status: 200; body: { token: string; kid: string; consumer: string; expiresAt: string } }
  | { status: 400 | 403 | 503; body: { message: string } };

/**
 * One token for the caller's role: the consumer whose custom_id is that role, signed with its AWSCURRENT key
 * (claims sub = the role ARN, kid, iat, exp, optional iss/aud). A rotation in flight changes nothing: AWSPENDING is
 * not current until finishSecret, and Kong holds AWSCURRENT's credential throughout. Every outcome is audited,
 * never the token.
 */
export async function issueToken(
  deps: TokenDeps,
  settings: TokenSettings,
  caller: { userArn?: string; ownAccount: string; requestedTtlSeconds?: number },
): Promise<TokenResult> {
  const audit = async (outcome: string, detail: Record<string, unknown>) =>
    deps.audit?.publish('Token Issued', { outcome, caller: caller.userArn ?? null, ...detail });
  const ttl = caller.requestedTtlSeconds ?? settings.ttlSeconds;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS) {
    return { status: 400, body: { message: `ttlSeconds must be an integer from 1 to ${MAX_TOKEN_TTL_SECONDS}` } };
  }
  const verdict = callerVerdict(caller.userArn, caller.ownAccount);
  if (!verdict.ok) {
    await audit('refused', { reason: verdict.reason });
    return { status: 403, body: { message: `no token: ${verdict.detail}` } };
  }
  const { consumers } = await readConsumers(deps.secretsManager, { graceMs: settings.graceMs });
  const mapped = consumers.filter((consumer) => sameRole(consumer.iamRole, verdict.role));
  if (mapped.length !== 1) {
    await audit('refused', { reason: mapped.length === 0 ? 'unmapped-role' : 'ambiguous-role' });
    return {
      status: 403,
      body: {
        message:
          mapped.length === 0
            ? `no token: role '${verdict.role.roleName}' is not the IAM role of any consumer`
            : `no token: role '${verdict.role.roleName}' is the IAM role of ${mapped.length} consumers`,
      },
    };
  }
  const consumer = mapped[0] as (typeof mapped)[number];
  let current: Awaited<ReturnType<typeof readKeyVersion>>;
  try {
    current = await readKeyVersion(deps.secretsManager, consumer.secretArn, { stage: AWSCURRENT });
  } catch (error) {
    throw new TokenError(`cannot read the current key of consumer '${consumer.username}'`, {
      cause: error,
      context: { consumer: consumer.username },
    });
  }
  // A key rolled back (revoked) or no longer among the consumer's live keys has no credential in Kong: a token
  // signed with it would be refused at the edge, so none is issued.
  const live = consumer.keys.some((key) => key.kid === current.key.kid);
  if (current.stages.includes(MESHGATE_REVOKED) || !live) {
    await audit('refused', { reason: 'key-not-live', consumer: consumer.username, kid: current.key.kid });
    return { status: 503, body: { message: `no token: consumer '${consumer.username}' has no live current key` } };
  }
  const now = deps.now?.() ?? new Date();
  const claims: Record<string, unknown> = { sub: consumer.iamRole };
  if (settings.issuer) claims.iss = settings.issuer;
  if (settings.audience) claims.aud = settings.audience;
  const token = await signToken(current.key, { ttlSeconds: ttl, claims, now });
  const expiresAt = new Date((Math.floor(now.getTime() / 1000) + ttl) * 1000).toISOString();
  await audit('issued', { consumer: consumer.username, kid: current.key.kid, expiresAt });
  return { status: 200, body: { token, kid: current.key.kid, consumer: consumer.username, expiresAt } };
}
