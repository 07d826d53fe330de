import type { SecretsManagerCalls } from '../aws/secrets-manager.js';
import { ensureCredentials, removeCredential, retireCredentials } from '../consumers/credentials.js';
import { RotationError } from '../consumers/errors.js';
import { documentLookup, publishConsumerKeys } from '../consumers/public-keys.js';
import { keyRecordsOf } from '../consumers/registry.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  describeSecret,
  findConsumerSecret,
  holderOf,
  identityOf,
  type KeyLookup,
  liveKeysOf,
  MESHGATE_REVOKED,
  type VersionsToStages,
} from '../consumers/secrets.js';
import type { KongApi } from '../kong/api.js';
import type { KeyRollbackIntent, StateStore } from '../state/store.js';

export interface RollbackKeyResult {
  consumer: string;
  secretArn: string;
  /** The key that is AWSCURRENT again. */
  restoredKid: string;
  /** The key rolled back: labelled MESHGATE_REVOKED, its credential gone from Kong. */
  revokedKid: string;
  retired: string[];
  /** True when this run finished an intent an earlier, failed run had recorded. */
  resumed: boolean;
}

/**
 * `rollback key --consumer NAME`, as a resumable operation (the caller holds the state-store lease):
 * 1. the intent (restore the AWSPREVIOUS version, revoke the AWSCURRENT one) is recorded in the state store first;
 *    from then on no sync publishes the revoked key, whatever its labels still say;
 * 2. Kong: the restored key's credential in, the revoked one's out;
 * 3. the labels: AWSCURRENT to the restored version, MESHGATE_REVOKED to the revoked one;
 * 4. the intent is cleared.
 * A re-run after a failure at any point finishes the recorded intent instead of choosing anew (choosing anew would
 * revoke the good key and make the bad one current).
 *
 * Public keys come from the state store's public-key document, never from GetSecretValue (the rollback function
 * may not read private keys); the document is republished with the new labels before the intent is cleared.
 */
export async function rollbackKey(
  sm: SecretsManagerCalls,
  kong: KongApi,
  store: StateStore,
  options: {
    username: string;
    instance: string;
    by?: string;
    graceMs?: number;
    /** Confirms the caller still holds the lease (see LeaseContext.fence) before the labels and the document move. */
    fence?: () => Promise<void>;
  },
): Promise<RollbackKeyResult> {
  const { username, instance } = options;
  const listed = await findConsumerSecret(sm, username);
  const secretArn = listed.ARN ?? listed.Name ?? '';
  const described = await describeSecret(sm, secretArn);
  const stages = described.VersionIdsToStages ?? {};
  const published = (await store.readPublicKeys())?.meshgate.consumers[username];
  const entry = published?.secretArn === secretArn ? published : undefined;
  const lookup: KeyLookup = entry
    ? documentLookup(entry, secretArn)
    : async () => {
        throw new RotationError(
          `the public keys of consumer ${username} are not in the public-key document; run the rotateKeys schedule (meshgate rotate --due) to publish them`,
          { context: { consumer: username, secretId: secretArn } },
        );
      };
  const recorded = (await store.readKeyState()).rollbacks[username];
  const intent = recorded ?? (await chooseIntent(lookup, secretArn, stages, username, options.by ?? 'rollback'));
  if (!recorded) {
    await store.updateKeyState((state) => ({ ...state, rollbacks: { ...state.rollbacks, [username]: intent } }));
  }

  // Kong first: once the restored credential is in and the revoked one out, the labels only catch up.
  const restored = await lookup(intent.restoreVersionId, 'current');
  if (!restored) throw new RotationError(`version ${intent.restoreVersionId} of ${secretArn} has no key`);
  await ensureCredentials(kong, instance, {
    ...identityOf(described),
    secretArn,
    keys: [{ ...restored, stages: stages[intent.restoreVersionId] ?? [] }],
  });
  await removeCredential(kong, instance, username, intent.revokeKid);

  // A holder that lost the lease stops here too, not only before Kong writes: the labels are the next writer's.
  await options.fence?.();
  const currentId = holderOf(stages, AWSCURRENT);
  if (currentId !== intent.restoreVersionId) {
    await sm.updateSecretVersionStage({
      SecretId: secretArn,
      VersionStage: AWSCURRENT,
      MoveToVersionId: intent.restoreVersionId,
      RemoveFromVersionId: currentId,
    });
  }
  const revokedHolder = holderOf(stages, MESHGATE_REVOKED);
  if (revokedHolder !== intent.revokeVersionId) {
    await sm.updateSecretVersionStage({
      SecretId: secretArn,
      VersionStage: MESHGATE_REVOKED,
      MoveToVersionId: intent.revokeVersionId,
      RemoveFromVersionId: revokedHolder,
    });
  }
  if (stages[intent.revokeVersionId]?.includes(AWSPENDING)) {
    // A label a rotation left on the rolled-back version; elsewhere than AWSCURRENT it would block every rotation.
    await sm.updateSecretVersionStage({
      SecretId: secretArn,
      VersionStage: AWSPENDING,
      RemoveFromVersionId: intent.revokeVersionId,
    });
  }
  const after = (await describeSecret(sm, secretArn)).VersionIdsToStages ?? {};
  // AWSPREVIOUS is now the revoked version, which is never live, so no grace period applies.
  const keys = await liveKeysOf(lookup, secretArn, after, {
    graceMs: 0,
    ...keyRecordsOf({ promotions: {}, rollbacks: { [username]: intent } }, username),
  });
  const retired = await retireCredentials(kong, instance, username, new Set(keys.map((key) => key.kid)));
  // The labels moved: the document follows before the intent goes, so no reader ever sees the revoked key live.
  await options.fence?.();
  await publishConsumerKeys(
    store,
    { consumer: username, secretArn, secretName: listed.Name ?? secretArn, stages: after, keys: [] },
    { graceMs: options.graceMs ?? 0 },
  );
  await store.updateKeyState((state) => {
    const { [username]: _done, ...rollbacks } = state.rollbacks;
    return { ...state, rollbacks };
  });
  return {
    consumer: username,
    secretArn,
    restoredKid: intent.restoreKid,
    revokedKid: intent.revokeKid,
    retired,
    resumed: recorded !== undefined,
  };
}

/** What a fresh key rollback does: AWSPREVIOUS comes back, AWSCURRENT is revoked; refused when that is not sound. */
async function chooseIntent(
  lookup: KeyLookup,
  secretArn: string,
  stages: VersionsToStages,
  username: string,
  by: string,
): Promise<KeyRollbackIntent> {
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
  const [current, previous] = await Promise.all([lookup(currentId, 'current'), lookup(previousId, 'previous')]);
  if (!current || !previous) throw new RotationError(`consumer ${username} has no previous key to roll back to`);
  return {
    consumer: username,
    secretArn,
    restoreVersionId: previousId,
    restoreKid: previous.kid,
    revokeVersionId: currentId,
    revokeKid: current.kid,
    by,
    recordedAt: new Date().toISOString(),
  };
}
