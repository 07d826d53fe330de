import { setTimeout as sleep } from 'node:timers/promises';
import type { SecretListEntry } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerCalls } from '../aws/secrets-manager.js';
import { mapLimit } from '../concurrency.js';
import { RotationError } from '../consumers/errors.js';
import {
  AWSCURRENT,
  AWSPENDING,
  describeSecret,
  findConsumerSecret,
  identityOf,
  listConsumerSecrets,
} from '../consumers/secrets.js';
import { errorMessage } from '../errors.js';

const DAY_MS = 86_400_000;
export const DEFAULT_ROTATION_DAYS = 30;
/** RotateSecret calls in flight at once (each runs a whole rotation against the local double). */
const START_CONCURRENCY = 8;

export interface StartOptions {
  /** The rotation function, for secrets that have none configured yet. */
  rotationLambdaArn?: string;
}

/** Starts a rotation of one consumer's key now (`meshgate rotate --consumer NAME`); returns the new version id. */
export async function startRotation(
  sm: SecretsManagerCalls,
  username: string,
  options: StartOptions = {},
): Promise<{ consumer: string; secretArn: string; versionId: string }> {
  const secret = await findConsumerSecret(sm, username);
  return rotate(sm, secret, username, options);
}

async function rotate(
  sm: SecretsManagerCalls,
  secret: SecretListEntry,
  username: string,
  options: StartOptions,
): Promise<{ consumer: string; secretArn: string; versionId: string }> {
  const secretArn = secret.ARN ?? secret.Name ?? '';
  const rotationLambdaArn = secret.RotationLambdaARN ?? options.rotationLambdaArn;
  if (!rotationLambdaArn) {
    throw new RotationError(`secret ${secretArn} of consumer ${username} has no rotation function configured`, {
      context: { consumer: username, secretId: secretArn },
    });
  }
  const output = await sm
    .rotateSecret({ SecretId: secretArn, RotationLambdaARN: rotationLambdaArn })
    .catch((cause: unknown) => {
      throw new RotationError(`cannot rotate the key of consumer ${username}: ${errorMessage(cause)}`, {
        cause,
        context: { consumer: username, secretId: secretArn },
      });
    });
  return { consumer: username, secretArn, versionId: output.VersionId ?? '' };
}

export interface RotationWait {
  /** Default 5 minutes (a rotation step's Lambda timeout); then the wait ends with an error, the rotation goes on. */
  timeoutMs?: number;
  pollMs?: number;
  /** Called once, when the first look finds the rotation still running. */
  onWait?: () => void;
}

/**
 * Waits for a rotation RotateSecret started to end. Secrets Manager answers RotateSecret once the rotation is started
 * and runs the four steps after it, so the new version is current only when DescribeSecret shows AWSCURRENT on it.
 * A version that lost AWSPENDING without becoming AWSCURRENT is a failed rotation (meshgate's clean-up removes the
 * label); one still pending past the timeout is reported as such.
 */
export async function waitForRotation(
  sm: SecretsManagerCalls,
  started: { consumer: string; secretArn: string; versionId: string },
  options: RotationWait = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  const context = { consumer: started.consumer, secretId: started.secretArn, versionId: started.versionId };
  for (let look = 1; ; look += 1) {
    const { VersionIdsToStages = {} } = await describeSecret(sm, started.secretArn);
    const stages = VersionIdsToStages[started.versionId] ?? [];
    if (stages.includes(AWSCURRENT)) return;
    if (!stages.includes(AWSPENDING)) {
      throw new RotationError(
        `the rotation of consumer ${started.consumer} failed: version ${started.versionId} is no longer AWSPENDING ` +
          'and never became AWSCURRENT (the rotateKeys logs and the RotationFailed event say why)',
        { context },
      );
    }
    if (Date.now() >= deadline) {
      throw new RotationError(
        `the rotation of consumer ${started.consumer} is still running (version ${started.versionId} is AWSPENDING); ` +
          '`meshgate status` shows when it ends',
        { context },
      );
    }
    if (look === 1) options.onWait?.();
    await sleep(options.pollMs ?? 1000);
  }
}

/** When a secret is next due: NextRotationDate, else its last rotation (or creation) plus its rules' days. */
export function dueDate(secret: SecretListEntry, defaultDays = DEFAULT_ROTATION_DAYS): Date {
  if (secret.NextRotationDate) return secret.NextRotationDate;
  const last = secret.LastRotatedDate ?? secret.CreatedDate ?? new Date(0);
  const days = secret.RotationRules?.AutomaticallyAfterDays ?? defaultDays;
  return new Date(last.getTime() + days * DAY_MS);
}

/**
 * The daily schedule, a catch-up beside Secrets Manager's own rotation schedule: starts a rotation (RotateSecret) of
 * every consumer key whose rotation is enabled and overdue (NextRotationDate passed, or last rotation older than its
 * rules allow), e.g. after Secrets Manager's attempt failed. A secret whose rotation is disabled (never configured,
 * or cancelled by an operator with CancelRotateSecret) is skipped: RotateSecret would re-enable it. A secret that
 * cannot be rotated is a failure; the others still start.
 */
export async function startDueRotations(
  sm: SecretsManagerCalls,
  options: StartOptions & { now?: Date; defaultDays?: number; secretPrefix?: string } = {},
): Promise<{
  started: { consumer: string; versionId: string }[];
  /** Not overdue, or rotation disabled. */
  notDue: number;
  failures: { object: string; reason: string }[];
}> {
  const now = options.now ?? new Date();
  const secrets = await listConsumerSecrets(sm, options.secretPrefix);
  const due = secrets.filter(
    (secret) => secret.RotationEnabled === true && dueDate(secret, options.defaultDays) <= now,
  );
  const results = await mapLimit(due, START_CONCURRENCY, async (secret) => {
    try {
      const { consumer, versionId } = await rotate(sm, secret, identityOf(secret).username, options);
      return { started: { consumer, versionId } };
    } catch (error) {
      return { failure: { object: secret.Name ?? secret.ARN ?? '(unnamed secret)', reason: errorMessage(error) } };
    }
  });
  return {
    started: results.flatMap((result) => (result.started ? [result.started] : [])),
    notDue: secrets.length - due.length,
    failures: results.flatMap((result) => (result.failure ? [result.failure] : [])),
  };
}
