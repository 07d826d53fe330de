import { randomUUID } from 'node:crypto';
import { type AwsContext, AwsServiceError, type AwsServiceModule, jsonService } from '../protocol.js';
import {
  AWSCURRENT,
  AWSPENDING,
  attachLabel,
  detachLabel,
  epochSeconds,
  holderOf,
  nonEmpty,
  type RotationRules,
  rotationInProgress,
  type Secret,
  type SecretVersion,
  secretArn,
  secretMetadata,
  type Tag,
  versionIdsToStages,
  versionOf,
} from './secretsmanager/state.js';

/**
 * Secrets Manager (JSON 1.1, `X-Amz-Target: secretsmanager.<Op>`): secrets with versions and staging labels, the
 * rotation protocol (reference §3) and tag-filtered listing. RotateSecret runs the rotation function's four steps
 * before it answers, failing when a step fails, or (`rotation: 'background'`) after it, as the real service does —
 * see docs/rotation.md.
 */

type Input = Record<string, unknown>;

const EVENT_SOURCE = 'secretsmanager.amazonaws.com';
const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
const MAX_SECRET_BYTES = 65_536;

export interface SecretsManagerOptions {
  /**
   * `background`: RotateSecret answers once the rotation is started and runs the steps after it, as Secrets Manager
   * does (a failed step is only logged there, as RotationFailed). `inline` (default): it answers after the steps,
   * so a test sees the rotation's outcome in RotateSecret's answer.
   */
  rotation?: 'inline' | 'background';
}

export function createSecretsManagerService(options: SecretsManagerOptions = {}): AwsServiceModule {
  const secrets = new Map<string, Secret>();

  function find(secretId: string): Secret | undefined {
    const byName = secrets.get(secretId);
    if (byName) return byName;
    for (const secret of secrets.values()) if (secret.arn === secretId) return secret;
    return undefined;
  }

  function secretFor(input: Input, options: { allowDeleted?: boolean } = {}): Secret {
    const secretId = requiredString(input, 'SecretId');
    const secret = find(secretId);
    if (!secret) {
      throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    }
    if (secret.deleted !== undefined && !options.allowDeleted) {
      throw new AwsServiceError(
        'InvalidRequestException',
        `You can't perform this operation on the secret because it was marked for deletion.`,
      );
    }
    return secret;
  }

  function record(context: AwsContext, eventName: string, request: Input, response: Record<string, unknown>): void {
    context.recordCall({
      eventSource: EVENT_SOURCE,
      eventName,
      requestParameters: cloudTrailParameters(request),
      responseElements: response,
    });
  }

  const operations: Record<string, (input: Input, context: AwsContext) => unknown> = {
    CreateSecret(input, context) {
      const name = requiredString(input, 'Name');
      if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name)) {
        throw new AwsServiceError(
          'InvalidParameterException',
          `Invalid name '${name}': use 1-512 of A-Z a-z 0-9 /_+=.@-`,
        );
      }
      if (secrets.has(name)) {
        throw new AwsServiceError(
          'ResourceExistsException',
          `The operation failed because the secret ${name} already exists.`,
        );
      }
      const now = Date.now();
      const secret: Secret = {
        arn: secretArn(context.region, context.account, name),
        name,
        description: optionalString(input, 'Description'),
        tags: tagsOf(input.Tags),
        versions: new Map(),
        created: now,
        lastChanged: now,
      };
      const value = secretValueOf(input);
      let versionId: string | undefined;
      if (value) {
        versionId = optionalString(input, 'ClientRequestToken') ?? randomUUID();
        const version: SecretVersion = { id: versionId, ...value, created: now, stages: [] };
        secret.versions.set(versionId, version);
        attachLabel(secret, AWSCURRENT, version);
      }
      secrets.set(name, secret);
      const response = nonEmpty({ ARN: secret.arn, Name: name, VersionId: versionId });
      record(context, 'CreateSecret', input, response);
      return response;
    },

    DescribeSecret(input) {
      const secret = secretFor(input, { allowDeleted: true });
      return nonEmpty({ ...secretMetadata(secret), VersionIdsToStages: versionIdsToStages(secret) });
    },

    GetSecretValue(input) {
      const secret = secretFor(input);
      const versionId = optionalString(input, 'VersionId');
      const stage = optionalString(input, 'VersionStage');
      let version: SecretVersion | undefined;
      if (versionId !== undefined) {
        version = versionOf(secret, versionId);
        if (stage !== undefined && !version.stages.includes(stage)) {
          throw new AwsServiceError(
            'ResourceNotFoundException',
            `Secrets Manager can't find the specified secret value for VersionId ${versionId} and staging label ${stage}: they refer to different versions.`,
          );
        }
      } else {
        version = holderOf(secret, stage ?? AWSCURRENT);
      }
      if (!version || (version.secretString === undefined && version.secretBinary === undefined)) {
        const what = versionId !== undefined ? `VersionId: ${versionId}` : `staging label: ${stage ?? AWSCURRENT}`;
        throw new AwsServiceError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for ${what}`,
        );
      }
      return nonEmpty({
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.id,
        SecretString: version.secretString,
        SecretBinary: version.secretBinary,
        VersionStages: [...version.stages],
        CreatedDate: epochSeconds(version.created),
      });
    },

    PutSecretValue(input, context) {
      const secret = secretFor(input);
      const token = requiredString(input, 'ClientRequestToken');
      checkToken(token);
      const value = secretValueOf(input);
      if (!value) {
        throw new AwsServiceError('InvalidRequestException', 'You must provide either SecretString or SecretBinary.');
      }
      const stages = optionalStringList(input, 'VersionStages') ?? [AWSCURRENT];
      if (stages.length === 0 || stages.length > 20) {
        throw new AwsServiceError(
          'InvalidParameterException',
          `VersionStages must hold 1 to 20 labels, got ${stages.length}`,
        );
      }
      const existing = secret.versions.get(token);
      if (existing && (existing.secretString !== undefined || existing.secretBinary !== undefined)) {
        if (existing.secretString !== value.secretString || existing.secretBinary !== value.secretBinary) {
          throw new AwsServiceError(
            'ResourceExistsException',
            `You can't modify an existing version, you can only create a new version. (VersionId ${token})`,
          );
        }
      } else {
        // A new value on a version other than the pending one abandons a rotation under way (RotationAbandoned).
        const pending = rotationInProgress(secret);
        if (pending && pending.id !== token && !stages.includes(AWSPENDING)) detachLabel(secret, AWSPENDING);
        const version = existing ?? { id: token, created: Date.now(), stages: [] };
        Object.assign(version, value);
        secret.versions.set(token, version);
        for (const stage of stages) attachLabel(secret, stage, version);
        secret.lastChanged = Date.now();
      }
      const version = versionOf(secret, token);
      const response = { ARN: secret.arn, Name: secret.name, VersionId: token, VersionStages: [...version.stages] };
      record(context, 'PutSecretValue', input, response);
      return response;
    },

    UpdateSecretVersionStage(input, context) {
      const secret = secretFor(input);
      const stage = requiredString(input, 'VersionStage');
      const moveTo = optionalString(input, 'MoveToVersionId');
      const removeFrom = optionalString(input, 'RemoveFromVersionId');
      if (moveTo === undefined && removeFrom === undefined) {
        throw new AwsServiceError('InvalidParameterException', 'Specify MoveToVersionId, RemoveFromVersionId or both.');
      }
      const holder = holderOf(secret, stage);
      if (removeFrom !== undefined) {
        versionOf(secret, removeFrom);
        if (holder?.id !== removeFrom && holder?.id !== moveTo) {
          throw new AwsServiceError(
            'InvalidParameterException',
            `The staging label ${stage} is not attached to version ${removeFrom}.`,
          );
        }
      }
      if (moveTo === undefined) {
        if (stage === AWSCURRENT) {
          throw new AwsServiceError(
            'InvalidParameterException',
            'You can only move the AWSCURRENT staging label to another version; you cannot remove it.',
          );
        }
        detachLabel(secret, stage);
      } else {
        const target = versionOf(secret, moveTo);
        if (holder && holder !== target && holder.id !== removeFrom) {
          throw new AwsServiceError(
            'InvalidParameterException',
            `The staging label ${stage} is attached to version ${holder.id}; include RemoveFromVersionId=${holder.id} to move it.`,
          );
        }
        attachLabel(secret, stage, target);
      }
      secret.lastChanged = Date.now();
      const response = { ARN: secret.arn, Name: secret.name };
      record(context, 'UpdateSecretVersionStage', input, response);
      return response;
    },

    ListSecrets(input) {
      const filters = filtersOf(input.Filters);
      const includeDeleted = input.IncludePlannedDeletion === true;
      const matching = [...secrets.values()]
        .filter((secret) => includeDeleted || secret.deleted === undefined)
        .filter((secret) => filters.every((filter) => filterMatches(filter, secret)));
      if (input.SortOrder === 'desc') matching.reverse();
      const { page, nextToken } = paginate(matching, input, 100);
      return nonEmpty({
        SecretList: page.map((secret) =>
          // ListSecrets names the version map differently from DescribeSecret.
          nonEmpty({ ...secretMetadata(secret), SecretVersionsToStages: versionIdsToStages(secret) }),
        ),
        NextToken: nextToken,
      });
    },

    ListSecretVersionIds(input) {
      const secret = secretFor(input, { allowDeleted: true });
      const includeDeprecated = input.IncludeDeprecated === true;
      const versions = [...secret.versions.values()].filter(
        (version) => includeDeprecated || version.stages.length > 0,
      );
      const { page, nextToken } = paginate(versions, input, 100);
      return nonEmpty({
        ARN: secret.arn,
        Name: secret.name,
        Versions: page.map((version) =>
          nonEmpty({
            VersionId: version.id,
            VersionStages: [...version.stages],
            CreatedDate: epochSeconds(version.created),
          }),
        ),
        NextToken: nextToken,
      });
    },

    async RotateSecret(input, context) {
      const secret = secretFor(input);
      const lambdaArn = optionalString(input, 'RotationLambdaARN') ?? secret.rotationLambdaArn;
      if (!lambdaArn) {
        throw new AwsServiceError(
          'InvalidRequestException',
          'No Lambda rotation function ARN is associated with this secret.',
        );
      }
      // Secrets Manager invokes the rotation function with the caller's permissions: RotateSecret also needs
      // lambda:InvokeFunction on it.
      await context.authorize(
        'lambda:InvokeFunction',
        lambdaArn.startsWith('arn:')
          ? lambdaArn
          : `arn:aws:lambda:${context.region}:${context.account}:function:${lambdaArn}`,
      );
      if (rotationInProgress(secret)) {
        throw new AwsServiceError(
          'InvalidRequestException',
          "A previous rotation isn't complete. That rotation will be reattempted.",
        );
      }
      const rules = rotationRulesOf(input.RotationRules);
      secret.rotationLambdaArn = lambdaArn;
      if (rules) secret.rotationRules = rules;
      secret.rotationEnabled = true;
      const token = optionalString(input, 'ClientRequestToken') ?? randomUUID();
      checkToken(token);
      if (secret.versions.has(token)) {
        throw new AwsServiceError('ResourceExistsException', `A version with VersionId ${token} already exists.`);
      }
      // The service stages AWSPENDING on an empty version before it invokes createSecret (reference §3.2).
      const pending: SecretVersion = { id: token, created: Date.now(), stages: [] };
      secret.versions.set(token, pending);
      attachLabel(secret, AWSPENDING, pending);
      const response = { ARN: secret.arn, Name: secret.name, VersionId: token };
      record(context, 'RotateSecret', input, response);

      const rotateImmediately = input.RotateImmediately !== false;
      const steps = rotateImmediately ? ROTATION_STEPS : (['testSecret'] as const);
      const rotationToken = randomUUID();
      const runSteps = async () => {
        for (const step of steps) {
          try {
            await context.invokeFunction(lambdaArn, {
              Step: step,
              SecretId: secret.arn,
              ClientRequestToken: token,
              RotationToken: rotationToken,
            });
          } catch (cause) {
            // HTTP 400, not 5xx: the SDK would otherwise retry RotateSecret and start the rotation over.
            throw new AwsServiceError(
              'InternalServiceError',
              `Error when executing lambda ${lambdaArn} during ${step} step: ${cause instanceof Error ? cause.message : String(cause)}`,
            );
          }
        }
        if (rotateImmediately) {
          secret.lastRotated = Date.now();
        } else {
          // A configuration test: the pending version goes away again.
          if (pending.stages.includes(AWSPENDING)) detachLabel(secret, AWSPENDING);
          if (pending.stages.length === 0 && pending.secretString === undefined) secret.versions.delete(token);
        }
      };
      if (options.rotation === 'background') {
        // As AWS: the steps run after the answer; a failure leaves what the steps left (AWS logs RotationFailed).
        setImmediate(() => runSteps().catch(() => undefined));
        return response;
      }
      await runSteps();
      return response;
    },

    CancelRotateSecret(input, context) {
      const secret = secretFor(input);
      secret.rotationEnabled = false;
      // Like the service, this leaves AWSPENDING where it is: remove it with UpdateSecretVersionStage.
      const response = nonEmpty({ ARN: secret.arn, Name: secret.name, VersionId: rotationInProgress(secret)?.id });
      record(context, 'CancelRotateSecret', input, response);
      return response;
    },

    TagResource(input, context) {
      const secret = secretFor(input);
      for (const tag of tagsOf(input.Tags)) {
        secret.tags = [...secret.tags.filter((existing) => existing.Key !== tag.Key), tag];
      }
      record(context, 'TagResource', input, {});
      return {};
    },

    UntagResource(input, context) {
      const secret = secretFor(input);
      const keys = optionalStringList(input, 'TagKeys') ?? [];
      secret.tags = secret.tags.filter((tag) => !keys.includes(tag.Key));
      record(context, 'UntagResource', input, {});
      return {};
    },

    DeleteSecret(input, context) {
      const secret = secretFor(input, { allowDeleted: true });
      const force = input.ForceDeleteWithoutRecovery === true;
      const windowDays = typeof input.RecoveryWindowInDays === 'number' ? input.RecoveryWindowInDays : 30;
      if (force && input.RecoveryWindowInDays !== undefined) {
        throw new AwsServiceError(
          'InvalidParameterException',
          "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        );
      }
      if (!force && (windowDays < 7 || windowDays > 30)) {
        throw new AwsServiceError('InvalidParameterException', `RecoveryWindowInDays must be 7-30, got ${windowDays}`);
      }
      const now = Date.now();
      const deletionDate = force ? now : now + windowDays * 86_400_000;
      if (force) secrets.delete(secret.name);
      else secret.deleted = now;
      const response = { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(deletionDate) };
      record(context, 'DeleteSecret', input, response);
      return response;
    },
  };

  return jsonService('secretsmanager', operations, () => secrets.clear(), {
    // A secret is authorized on its full ARN (with the random suffix), whether the caller named it by name or ARN.
    resources: (_operation, input, where) => {
      const id = typeof input.SecretId === 'string' ? input.SecretId : undefined;
      if (id) return [find(id)?.arn ?? (id.startsWith('arn:') ? id : secretArn(where.region, where.account, id))];
      return typeof input.Name === 'string' ? [secretArn(where.region, where.account, input.Name)] : [];
    },
  });
}

/** CloudTrail's requestParameters: the input, lowerCamel, without SecretString, SecretBinary or RotationToken. */
function cloudTrailParameters(input: Input): Record<string, unknown> {
  const hidden = new Set(['SecretString', 'SecretBinary', 'RotationToken']);
  return Object.fromEntries(
    Object.entries(input)
      .filter(([key]) => !hidden.has(key))
      .map(([key, value]) => [key.charAt(0).toLowerCase() + key.slice(1), value]),
  );
}

function requiredString(input: Input, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '') {
    throw new AwsServiceError('InvalidParameterException', `Invalid parameter ${field}: expected a non-empty string`);
  }
  return value;
}

function optionalString(input: Input, field: string): string | undefined {
  return input[field] === undefined ? undefined : requiredString(input, field);
}

function optionalStringList(input: Input, field: string): string[] | undefined {
  const value = input[field];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new AwsServiceError('InvalidParameterException', `Invalid parameter ${field}: expected a list of strings`);
  }
  return value;
}

function checkToken(token: string): void {
  if (token.length < 32 || token.length > 64) {
    throw new AwsServiceError(
      'InvalidParameterException',
      `Invalid parameter ClientRequestToken: expected 32-64 characters, got ${token.length}`,
    );
  }
}

function secretValueOf(input: Input): { secretString?: string; secretBinary?: string } | undefined {
  const secretString = input.SecretString;
  const secretBinary = input.SecretBinary;
  if (secretString !== undefined && secretBinary !== undefined) {
    throw new AwsServiceError('InvalidParameterException', 'Specify either SecretString or SecretBinary, not both.');
  }
  if (secretString === undefined && secretBinary === undefined) return undefined;
  const value = secretString ?? secretBinary;
  if (typeof value !== 'string') {
    throw new AwsServiceError('InvalidParameterException', 'SecretString or SecretBinary must be a string.');
  }
  if (Buffer.byteLength(value) > MAX_SECRET_BYTES) {
    throw new AwsServiceError('InvalidParameterException', `The secret value exceeds ${MAX_SECRET_BYTES} bytes.`);
  }
  return secretString !== undefined ? { secretString: value } : { secretBinary: value };
}

function tagsOf(value: unknown): Tag[] {
  if (value === undefined) return [];
  if (
    !Array.isArray(value) ||
    !value.every((tag) => typeof tag?.Key === 'string' && typeof (tag.Value ?? '') === 'string')
  ) {
    throw new AwsServiceError('InvalidParameterException', 'Invalid parameter Tags: expected [{Key, Value}]');
  }
  return value.map((tag) => ({ Key: tag.Key as string, Value: (tag.Value ?? '') as string }));
}

function rotationRulesOf(value: unknown): RotationRules | undefined {
  if (value === undefined) return undefined;
  const rules = value as RotationRules;
  const days = rules.AutomaticallyAfterDays;
  if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 1000)) {
    throw new AwsServiceError(
      'InvalidParameterException',
      `Invalid parameter RotationRules.AutomaticallyAfterDays: expected 1-1000, got ${String(days)}`,
    );
  }
  const expression = rules.ScheduleExpression;
  if (expression !== undefined && !/^(rate\(\d+ (hours?|days?)\)|cron\(.+\))$/.test(expression)) {
    throw new AwsServiceError(
      'InvalidParameterException',
      `Invalid parameter RotationRules.ScheduleExpression: '${expression}' is neither rate(...) nor cron(...)`,
    );
  }
  return nonEmpty({ ...rules }) as RotationRules;
}

interface Filter {
  key: string;
  values: string[];
}

const FILTER_KEYS = new Set(['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all']);

function filtersOf(value: unknown): Filter[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new AwsServiceError('InvalidParameterException', 'Invalid parameter Filters');
  return value.map((filter: { Key?: unknown; Values?: unknown }) => {
    if (typeof filter.Key !== 'string' || !FILTER_KEYS.has(filter.Key)) {
      throw new AwsServiceError('InvalidParameterException', `Invalid filter key '${String(filter.Key)}'`);
    }
    const values = Array.isArray(filter.Values) ? filter.Values.filter((item) => typeof item === 'string') : [];
    return { key: filter.Key, values };
  });
}

/** Values OR within a filter, filters AND; prefix match; a leading `!` negates (ListSecrets semantics). */
function filterMatches(filter: Filter, secret: Secret): boolean {
  const candidates = (): string[] => {
    switch (filter.key) {
      case 'name':
        return [secret.name];
      case 'description':
        return [secret.description ?? ''];
      case 'tag-key':
        return secret.tags.map((tag) => tag.Key);
      case 'tag-value':
        return secret.tags.map((tag) => tag.Value);
      case 'all':
        return [secret.name, secret.description ?? '', ...secret.tags.flatMap((tag) => [tag.Key, tag.Value])].map(
          (text) => text.toLowerCase(),
        );
      default:
        return [];
    }
  };
  const texts = candidates();
  const positive = filter.values.filter((value) => !value.startsWith('!'));
  const negative = filter.values.filter((value) => value.startsWith('!')).map((value) => value.slice(1));
  const hit = (prefix: string) =>
    texts.some((text) => text.startsWith(filter.key === 'all' ? prefix.toLowerCase() : prefix));
  return (positive.length === 0 || positive.some(hit)) && !negative.some(hit);
}

function paginate<T>(items: T[], input: Input, maxPage: number): { page: T[]; nextToken?: string } {
  const size = typeof input.MaxResults === 'number' ? input.MaxResults : maxPage;
  if (!Number.isInteger(size) || size < 1 || size > maxPage) {
    throw new AwsServiceError('InvalidParameterException', `Invalid parameter MaxResults: expected 1-${maxPage}`);
  }
  let start = 0;
  if (input.NextToken !== undefined) {
    start = Number(Buffer.from(String(input.NextToken), 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) {
      throw new AwsServiceError('InvalidNextTokenException', 'The NextToken value is invalid.');
    }
  }
  const end = start + size;
  return {
    page: items.slice(start, end),
    nextToken: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined,
  };
}
