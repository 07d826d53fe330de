import { randomUUID } from 'node:crypto';
import { isSecretsManagerError, type SecretsManagerCalls } from '../aws/secrets-manager.js';
import { mapLimit } from '../concurrency.js';
import { errorMessage } from '../errors.js';
import type { PublicKeyDocument } from '../state/public-keys.js';
import type { KeyState, StateStore } from '../state/store.js';
import { consumerObject } from '../translate/consumers.js';
import { RotationError } from './errors.js';
import { generateKey, type KeyAlgorithm } from './keys.js';
import { CONSUMER_TAG, type ConsumerSpec, IAM_ROLE_TAG } from './model.js';
import { documentLookup, publishConsumerKeys, staleness } from './public-keys.js';
import { AWSCURRENT, identityOf, type KeyRecords, listConsumerSecrets, liveKeysOf } from './secrets.js';

/** What the state store's key state says about one consumer beside its labels. */
export function keyRecordsOf(state: KeyState | undefined, username: string): KeyRecords {
  const rollback = state?.rollbacks[username];
  return {
    promotion: state?.promotions[username],
    revokedVersionIds: rollback ? new Set([rollback.revokeVersionId]) : undefined,
  };
}

/** Secrets read in parallel by readConsumers. */
const READ_CONCURRENCY = 8;
const USERNAME = /^[A-Za-z0-9._~@+-]{1,64}$/;

/** Default of CONSUMER_SECRET_PREFIX. */
export const DEFAULT_CONSUMER_SECRET_PREFIX = 'meshgate/consumers/';

/** Where consumer key secrets are created: `<CONSUMER_SECRET_PREFIX><username>`, inside the functions' IAM scope. */
export function consumerSecretName(username: string, prefix = DEFAULT_CONSUMER_SECRET_PREFIX): string {
  return `${prefix}${username}`;
}

/**
 * Every consumer declared by a Secrets Manager secret tagged `meshgate:consumer=<username>`, with the public half of
 * its live keys (see liveKeysOf). A secret that cannot be read or parsed is a failure tied to that secret; the
 * others are still returned.
 *
 * With `publicKeys`, the keys come from the public-key document instead of GetSecretValue (meshSync and rollback,
 * which may not read private keys): names, tags and labels from ListSecrets, public keys from the document. A
 * consumer whose entry is missing or stale against the listed labels is a read failure, never an absence.
 */
export async function readConsumers(
  sm: SecretsManagerCalls,
  options: {
    graceMs: number;
    now?: Date;
    keyState?: KeyState;
    secretPrefix?: string;
    publicKeys?: { document: PublicKeyDocument | undefined };
  },
): Promise<{ consumers: ConsumerSpec[]; failures: { object: string; reason: string }[] }> {
  const secrets = await listConsumerSecrets(sm, options.secretPrefix).catch((cause: unknown) => {
    throw new RotationError(`cannot list consumer secrets: ${errorMessage(cause)}`, { cause });
  });
  const results = await mapLimit(secrets, READ_CONCURRENCY, async (secret) => {
    let object = secret.Name ?? secret.ARN ?? '(unnamed secret)';
    try {
      const { username, iamRole } = identityOf(secret);
      // Named as translation names the consumer, so a failed read keeps its consumer and credentials in Kong.
      object = consumerObject(username);
      const secretArn = secret.ARN ?? object;
      const records = keyRecordsOf(options.keyState, username);
      const stages = secret.SecretVersionsToStages ?? {};
      let source: Parameters<typeof liveKeysOf>[0] = sm;
      if (options.publicKeys) {
        const entry = options.publicKeys.document?.meshgate.consumers[username];
        const stale = staleness(entry, secretArn, stages);
        if (stale || !entry) throw new RotationError(`consumer ${username}: ${stale}`, { context: { secretArn } });
        source = documentLookup(entry, secretArn);
      }
      const keys = await liveKeysOf(source, secretArn, stages, { ...options, ...records });
      const spec: ConsumerSpec = { username, secretArn, keys, ...(iamRole ? { iamRole } : {}) };
      return { spec };
    } catch (error) {
      return { failure: { object, reason: errorMessage(error) } };
    }
  });
  const consumers: ConsumerSpec[] = [];
  const failures: { object: string; reason: string }[] = [];
  const seen = new Map<string, string>();
  for (const result of results) {
    if (result.failure) {
      failures.push(result.failure);
      continue;
    }
    const { spec } = result;
    const first = seen.get(spec.username);
    if (first) {
      failures.push({ object: spec.secretArn, reason: `consumer ${spec.username} is already declared by ${first}` });
      continue;
    }
    seen.set(spec.username, spec.secretArn);
    consumers.push(spec);
  }
  return { consumers, failures };
}

export interface AddConsumerOptions {
  username: string;
  iamRole?: string;
  alg: KeyAlgorithm;
  /** The rotation function; with it, rotation is configured (tested once, not run). */
  rotationLambdaArn?: string;
  /** Days between rotations (default 30). */
  rotationDays?: number;
  /** CONSUMER_SECRET_PREFIX (default `meshgate/consumers/`). */
  secretPrefix?: string;
  /** With the state store, the first key's public half is published at once, so the next sync creates the consumer. */
  publish?: { store: StateStore; graceMs: number };
}

/**
 * Creates a consumer's key secret (`meshgate consumer add`): its first key as AWSCURRENT, the consumer tags and,
 * with a rotation function, the rotation schedule. Kong gets the consumer at the next sync.
 */
export async function addConsumer(
  sm: SecretsManagerCalls,
  options: AddConsumerOptions,
): Promise<{ secretArn: string; kid: string; versionId: string }> {
  const { username, iamRole } = options;
  if (!USERNAME.test(username)) {
    throw new RotationError(`consumer name '${username}' is invalid: use 1-64 of A-Z a-z 0-9 . _ ~ @ + -`, {
      context: { consumer: username },
    });
  }
  if (iamRole !== undefined && !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(iamRole)) {
    throw new RotationError(`--iam-role '${iamRole}' is not an IAM role ARN`, { context: { consumer: username } });
  }
  const versionId = randomUUID();
  const key = await generateKey(username, versionId, options.alg);
  const name = consumerSecretName(username, options.secretPrefix);
  let secretArn: string;
  try {
    const created = await sm.createSecret({
      Name: name,
      Description: `meshgate JWT signing keys of consumer ${username}`,
      SecretString: JSON.stringify(key),
      ClientRequestToken: versionId,
      Tags: [{ Key: CONSUMER_TAG, Value: username }, ...(iamRole ? [{ Key: IAM_ROLE_TAG, Value: iamRole }] : [])],
    });
    secretArn = created.ARN ?? name;
  } catch (cause) {
    const reason = isSecretsManagerError(cause, 'ResourceExistsException')
      ? `secret ${name} already exists`
      : errorMessage(cause);
    throw new RotationError(`cannot add consumer ${username}: ${reason}`, { cause, context: { consumer: username } });
  }
  if (options.publish) {
    const { kid, alg, publicKeyPem, createdAt } = key;
    await publishConsumerKeys(
      options.publish.store,
      {
        consumer: username,
        secretArn,
        secretName: name,
        stages: { [versionId]: [AWSCURRENT] },
        keys: [{ kid, alg, publicKeyPem, createdAt, versionId }],
      },
      { graceMs: options.publish.graceMs },
    );
  }
  if (options.rotationLambdaArn) {
    await sm.rotateSecret({
      SecretId: secretArn,
      RotationLambdaARN: options.rotationLambdaArn,
      RotationRules: { AutomaticallyAfterDays: options.rotationDays ?? 30 },
      RotateImmediately: false,
    });
  }
  return { secretArn, kid: key.kid, versionId };
}
