import { randomBytes } from 'node:crypto';
import { AwsServiceError } from '../../protocol.js';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPREVIOUS = 'AWSPREVIOUS';
export const AWSPENDING = 'AWSPENDING';

export interface Tag {
  Key: string;
  Value: string;
}

export interface RotationRules {
  AutomaticallyAfterDays?: number;
  ScheduleExpression?: string;
  Duration?: string;
}

export interface SecretVersion {
  id: string;
  /** Absent on the empty AWSPENDING version RotateSecret creates before createSecret fills it. */
  secretString?: string;
  secretBinary?: string;
  /** Epoch milliseconds. */
  created: number;
  stages: string[];
}

export interface Secret {
  arn: string;
  name: string;
  description?: string;
  tags: Tag[];
  /** In creation order. */
  versions: Map<string, SecretVersion>;
  created: number;
  lastChanged: number;
  /** Undefined until rotation is first configured (DescribeSecret then omits the field). */
  rotationEnabled?: boolean;
  rotationLambdaArn?: string;
  rotationRules?: RotationRules;
  lastRotated?: number;
  deleted?: number;
}

/** Secret ARNs end in a dash and six random characters, so a re-created name gets a new ARN. */
export function secretArn(region: string, account: string, name: string): string {
  const suffix = randomBytes(6).toString('base64url').replace(/[-_]/g, 'x').slice(0, 6);
  return `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${suffix}`;
}

export function holderOf(secret: Secret, label: string): SecretVersion | undefined {
  for (const version of secret.versions.values()) if (version.stages.includes(label)) return version;
  return undefined;
}

export function versionOf(secret: Secret, versionId: string): SecretVersion {
  const version = secret.versions.get(versionId);
  if (!version) {
    throw new AwsServiceError(
      'ResourceNotFoundException',
      `Secrets Manager can't find the specified secret version: VersionId ${versionId} of ${secret.name}`,
    );
  }
  return version;
}

export function detachLabel(secret: Secret, label: string): void {
  for (const version of secret.versions.values()) version.stages = version.stages.filter((stage) => stage !== label);
}

/**
 * Attaches a label to one version, taking it from whichever version held it (a label is on at most one version).
 * AWSPREVIOUS follows AWSCURRENT: the version that loses AWSCURRENT gets AWSPREVIOUS.
 */
export function attachLabel(secret: Secret, label: string, version: SecretVersion): void {
  const formerHolder = holderOf(secret, label);
  if (formerHolder === version) return;
  if (version.stages.length >= 20) {
    throw new AwsServiceError('LimitExceededException', `Version ${version.id} already has 20 staging labels`);
  }
  detachLabel(secret, label);
  version.stages.push(label);
  if (label === AWSCURRENT && formerHolder) attachLabel(secret, AWSPREVIOUS, formerHolder);
}

/** True while a rotation is under way: AWSPENDING sits on a version other than AWSCURRENT's. */
export function rotationInProgress(secret: Secret): SecretVersion | undefined {
  const pending = holderOf(secret, AWSPENDING);
  return pending && !pending.stages.includes(AWSCURRENT) ? pending : undefined;
}

export function versionIdsToStages(secret: Secret): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const version of secret.versions.values()) if (version.stages.length > 0) map[version.id] = [...version.stages];
  return map;
}

const DAY_MS = 86_400_000;
const RATE = /^rate\((\d+) (hours?|days?)\)$/;

/** The next rotation by the rules: after AutomaticallyAfterDays, or a rate() schedule; cron is not evaluated. */
export function nextRotation(secret: Secret): number | undefined {
  if (!secret.rotationEnabled || !secret.rotationRules) return undefined;
  const from = secret.lastRotated ?? secret.created;
  const days = secret.rotationRules.AutomaticallyAfterDays;
  if (days !== undefined) return from + days * DAY_MS;
  const rate = RATE.exec(secret.rotationRules.ScheduleExpression ?? '');
  if (!rate) return undefined;
  return from + Number(rate[1]) * (rate[2]!.startsWith('hour') ? 3_600_000 : DAY_MS);
}

/** AWS JSON timestamps: epoch seconds with a fraction. */
export function epochSeconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

/** Drops undefined, empty-array and empty-object members: Secrets Manager returns only non-empty fields. */
export function nonEmpty(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields).filter(([, value]) => {
      if (value === undefined || value === null) return false;
      if (Array.isArray(value)) return value.length > 0;
      if (typeof value === 'object') return Object.keys(value).length > 0;
      return true;
    }),
  );
}

/** The members DescribeSecret and ListSecrets share for one secret (before `nonEmpty`). */
export function secretMetadata(secret: Secret): Record<string, unknown> {
  return {
    ARN: secret.arn,
    Name: secret.name,
    Description: secret.description,
    RotationEnabled: secret.rotationEnabled,
    RotationLambdaARN: secret.rotationLambdaArn,
    RotationRules: secret.rotationRules,
    LastRotatedDate: epochSeconds(secret.lastRotated),
    LastChangedDate: epochSeconds(secret.lastChanged),
    NextRotationDate: epochSeconds(nextRotation(secret)),
    DeletedDate: epochSeconds(secret.deleted),
    CreatedDate: epochSeconds(secret.created),
    Tags: secret.tags,
  };
}
