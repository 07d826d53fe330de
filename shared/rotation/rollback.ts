import { type SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import type { KongApi } from '../kong/api.js';
import { ensureCredentials, retireCredentials } from './credentials.js';
import { RotationError } from './errors.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  describeSecret,
  findConsumerSecret,
  holderOf,
  identityOf,
  liveKeysOf,
  MESHGATE_REVOKED,
  readKeyVersion,
} from './secrets.js';

export interface RollbackKeyResult {
  consumer: string;
  secretArn: string;
  /** The key that is AWSCURRENT again. */
  restoredKid: string;
  /** The key rolled back: labelled MESHGATE_REVOKED, its credential gone from Kong. */
  revokedKid: string;
  retired: string[];
}

/**
 * `rollback key --consumer NAME`: AWSCURRENT goes back to the AWSPREVIOUS version; the rolled-back version is
 * labelled MESHGATE_REVOKED so no later sync or rotation publishes it again; Kong keeps exactly the consumer's live
 * credentials (the restored key's is re-created if it had been retired, the revoked one's is deleted).
 */
export async function rollbackKey(
  sm: SecretsManagerClient,
  kong: KongApi,
  options: { username: string; instance: string },
): Promise<RollbackKeyResult> {
  const { username, instance } = options;
  const listed = await findConsumerSecret(sm, username);
  const secretArn = listed.ARN ?? listed.Name ?? '';
  const described = await describeSecret(sm, secretArn);
  const stages = described.VersionIdsToStages ?? {};
  const currentId = holderOf(stages, AWSCURRENT);
  const previousId = holderOf(stages, AWSPREVIOUS);
  const context = { consumer: username, secretId: secretArn };
  const pendingId = holderOf(stages, AWSPENDING);
  if (pendingId && pendingId !== currentId) {
    throw new RotationError(`consumer ${username} is being rotated (version ${pendingId} is AWSPENDING); retry later`, {
      context,
    });
  }
  if (!currentId || !previousId) {
    throw new RotationError(`consumer ${username} has no previous key to roll back to`, { context });
  }
  if (previousId === holderOf(stages, MESHGATE_REVOKED)) {
    throw new RotationError(`the previous key of consumer ${username} was itself rolled back; rotate instead`, {
      context,
    });
  }
  const [current, previous] = await Promise.all([
    readKeyVersion(sm, secretArn, { versionId: currentId }),
    readKeyVersion(sm, secretArn, { versionId: previousId }),
  ]);

  // AWSCURRENT moves first: were the revocation label set first and the move then failed, the live key would be
  // the revoked one.
  await sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: secretArn,
      VersionStage: AWSCURRENT,
      MoveToVersionId: previousId,
      RemoveFromVersionId: currentId,
    }),
  );
  await sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: secretArn,
      VersionStage: MESHGATE_REVOKED,
      MoveToVersionId: currentId,
      RemoveFromVersionId: holderOf(stages, MESHGATE_REVOKED),
    }),
  );

  if (pendingId === currentId) {
    // A label a rotation left on the rolled-back version; elsewhere than AWSCURRENT it would block every rotation.
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretArn,
        VersionStage: AWSPENDING,
        RemoveFromVersionId: currentId,
      }),
    );
  }
  const after = (await describeSecret(sm, secretArn)).VersionIdsToStages ?? {};
  // AWSPREVIOUS is now the revoked version, which is never live, so no grace period applies.
  const keys = await liveKeysOf(sm, secretArn, after, { graceMs: 0 });
  await ensureCredentials(kong, instance, { ...identityOf(described), secretArn, keys });
  const retired = await retireCredentials(kong, instance, username, new Set(keys.map((key) => key.kid)));
  return { consumer: username, secretArn, restoredKid: previous.key.kid, revokedKid: current.key.kid, retired };
}
