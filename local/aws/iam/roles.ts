/**
 * The IAM roles of meshgate's functions, read from serverless.yml as CloudFormation would create them for a stage:
 * serverless variables (`${sls:stage}`, `${param:…}`) and CloudFormation intrinsics (`!Sub`, `!GetAtt X.Arn`, `!Ref`)
 * resolved with the double's account and region. Adding a grant to serverless.yml is all it takes for the double to
 * allow the call. The physical names CloudFormation would generate (a role's, a bucket's) are deterministic here.
 */
import { fileURLToPath } from 'node:url';
import { readServerlessYml } from '../../../cli/serverless-yml.js';
import { policyDocumentSchema, type Statement } from './policy.js';

export interface Role {
  /** Logical id in serverless.yml, e.g. `MeshSyncRole`. */
  logicalId: string;
  arn: string;
  statements: Statement[];
}

export interface RoleSet {
  roles: Role[];
  /** Short function name (`meshSync`) → the ARN of the role it runs as. */
  functionRoles: Record<string, string>;
}

export interface RoleOptions {
  stage?: string;
  account?: string;
  region?: string;
  path?: string;
  /** Physical names of stack resources by logical id (default: `<service>-<stage>-<logical id, lowercase>`). */
  physicalNames?: Record<string, string>;
  /** What `${env:NAME, 'default'}` reads, as `serverless` does at package time (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

const SERVERLESS_YML = fileURLToPath(new URL('../../../serverless.yml', import.meta.url));

export interface Document {
  service: string;
  params?: Record<string, Record<string, unknown>>;
  functions?: Record<string, { role?: string }>;
  resources?: {
    Resources?: Record<string, StackResource>;
    Conditions?: Record<string, unknown>;
  };
}

/** CloudFormation's `!Ref AWS::NoValue`: the property (or list item) is left out. */
const NO_VALUE = Symbol('AWS::NoValue');

/** serverless.yml's resources as CloudFormation would see them for a stage, with a resolver of their values. */
export interface StackTemplate {
  document: Document;
  resources: Record<string, StackResource>;
  /** A value with serverless variables and CloudFormation intrinsics resolved (`!Ref AWS::NoValue` items dropped). */
  resolve(value: unknown): unknown;
  /** Whether a resource is created: it names no `Condition`, or one that holds. */
  created(resource: StackResource): boolean;
  roleArn(logicalId: string): string;
}

export interface StackResource {
  Type: string;
  Condition?: string;
  Properties?: Record<string, unknown>;
}

/** Loads the roles serverless.yml declares (`resources.Resources.*` of type AWS::IAM::Role) and who uses them. */
export function loadRoles(options: RoleOptions = {}): RoleSet {
  const { document, resources, resolve, roleArn } = stackTemplate(options);
  const roles = Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
    .map(([logicalId, resource]): Role => {
      const policies = (resource.Properties?.Policies ?? []) as { PolicyName: string; PolicyDocument: unknown }[];
      const statements = policies.flatMap((policy) => {
        const parsed = policyDocumentSchema.safeParse(resolve(policy.PolicyDocument));
        if (!parsed.success) {
          throw new Error(
            `serverless.yml: ${logicalId} policy ${policy.PolicyName}: ${parsed.error.issues[0]?.message}`,
          );
        }
        const statement = parsed.data.Statement;
        return Array.isArray(statement) ? statement : [statement];
      });
      return { logicalId, arn: roleArn(logicalId), statements };
    });
  const functionRoles = Object.fromEntries(
    Object.entries(document.functions ?? {})
      .filter(([, fn]) => typeof fn.role === 'string')
      .map(([name, fn]) => [name, roleArn(String(fn.role))]),
  );
  return { roles, functionRoles };
}

export function stackTemplate(options: RoleOptions = {}): StackTemplate {
  const stage = options.stage ?? 'local';
  const account = options.account ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const document = readServerlessYml(options.path ?? SERVERLESS_YML) as Document;
  const resources: Record<string, StackResource> = document.resources?.Resources ?? {};
  const physical = (logicalId: string) =>
    options.physicalNames?.[logicalId] ?? `${document.service}-${stage}-${logicalId.toLowerCase()}`;
  const roleArn = (logicalId: string) => `arn:aws:iam::${account}:role/${document.service}-${stage}-${logicalId}`;

  const params = { ...document.params?.default, ...document.params?.[stage] };
  const env = options.env ?? process.env;
  const variables = (text: string): string =>
    text
      // `${env:NAME, 'fallback'}` (the local stage's params): the environment's value, else the fallback.
      .replace(/\$\{env:(\w+)(?:,\s*'([^']*)')?\}/g, (whole, name: string, fallback?: string) => {
        const value = env[name] ?? fallback;
        return value === undefined ? whole : value;
      })
      .replace(/\$\{(sls:stage|self:service|param:(\w+))\}/g, (whole, name: string, param?: string) => {
        if (name === 'sls:stage') return stage;
        if (name === 'self:service') return document.service;
        const value = param === undefined ? undefined : params[param];
        if (typeof value === 'number' || typeof value === 'boolean') return String(value);
        return typeof value === 'string' ? variables(value) : whole;
      });

  const arnOf = (logicalId: string): string => {
    const resource = resources[logicalId];
    const properties = resource?.Properties ?? {};
    const named = (key: string) =>
      typeof properties[key] === 'string' ? variables(String(properties[key])) : undefined;
    switch (resource?.Type) {
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${named('BucketName') ?? physical(logicalId)}`;
      case 'AWS::Events::EventBus':
        return `arn:aws:events:${region}:${account}:event-bus/${named('Name') ?? physical(logicalId)}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${region}:${account}:${named('QueueName') ?? physical(logicalId)}`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${region}:${account}:${named('TopicName') ?? physical(logicalId)}`;
      case 'AWS::IAM::Role':
        return roleArn(logicalId);
      // !GetAtt of a log group is its ARN with `:*`, as CloudFormation returns it.
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${region}:${account}:log-group:${named('LogGroupName') ?? physical(logicalId)}:*`;
      case 'AWS::Events::Archive':
        return `arn:aws:events:${region}:${account}:archive/${named('ArchiveName') ?? physical(logicalId)}`;
      default: {
        // Serverless names a function's resource `<Name>LambdaFunction` and deploys it as `<service>-<stage>-<name>`.
        const fn = /^(\w+)LambdaFunction$/.exec(logicalId)?.[1];
        if (fn) return `arn:aws:lambda:${region}:${account}:function:${document.service}-${stage}-${lowerFirst(fn)}`;
        throw new Error(
          `serverless.yml: cannot resolve the ARN of '${logicalId}' (${resource?.Type ?? 'not declared'})`,
        );
      }
    }
  };

  // !Ref of a named bus, log group or archive is the name it declares.
  const declaredName = (logicalId: string): string | undefined => {
    const properties = resources[logicalId]?.Properties ?? {};
    const type = resources[logicalId]?.Type;
    const key = {
      'AWS::Events::EventBus': 'Name',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::Events::Archive': 'ArchiveName',
    }[type ?? ''];
    return key && typeof properties[key] === 'string' ? variables(String(properties[key])) : undefined;
  };

  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::AccountId': account,
    'AWS::StackName': `${document.service}-${stage}`,
    'AWS::URLSuffix': 'amazonaws.com',
  };

  const conditions = document.resources?.Conditions ?? {};
  // The condition functions a template's Conditions use (Fn::Equals over resolved strings, Not, And, Or).
  const holds = (expression: unknown): boolean => {
    const object = (expression ?? {}) as Record<string, unknown>;
    if ('Condition' in object) return holds(conditions[String(object.Condition)]);
    if ('Fn::Equals' in object) {
      const [left, right] = (object['Fn::Equals'] as unknown[]).map(resolve);
      return left === right;
    }
    if ('Fn::Not' in object) return !holds((object['Fn::Not'] as unknown[])[0]);
    if ('Fn::And' in object) return (object['Fn::And'] as unknown[]).every(holds);
    if ('Fn::Or' in object) return (object['Fn::Or'] as unknown[]).some(holds);
    throw new Error(`serverless.yml: unsupported condition ${JSON.stringify(expression)}`);
  };

  const resolve = (value: unknown): unknown => {
    if (typeof value === 'string') return variables(value);
    if (Array.isArray(value)) return value.map(resolve).filter((item) => item !== NO_VALUE);
    if (!value || typeof value !== 'object') return value;
    const object = value as Record<string, unknown>;
    if ('Fn::If' in object) {
      const [condition, whenTrue, whenFalse] = object['Fn::If'] as [string, unknown, unknown];
      if (!(condition in conditions)) throw new Error(`serverless.yml: !If names no condition '${condition}'`);
      return resolve(holds(conditions[condition]) ? whenTrue : whenFalse);
    }
    if ('Ref' in object && object.Ref === 'AWS::NoValue') return NO_VALUE;
    if ('Fn::Sub' in object) {
      const template = variables(String(object['Fn::Sub']));
      return template.replace(/\$\{([\w:.]+)\}/g, (_whole, name: string) => {
        if (pseudo[name]) return pseudo[name];
        if (name.endsWith('.Arn')) return arnOf(name.slice(0, -'.Arn'.length));
        throw new Error(`serverless.yml: cannot resolve \${${name}} in !Sub ${template}`);
      });
    }
    if ('Fn::GetAtt' in object) {
      const target = object['Fn::GetAtt'];
      const [logicalId, attribute] = Array.isArray(target) ? target : String(target).split('.');
      if (attribute !== 'Arn')
        throw new Error(`serverless.yml: only !GetAtt <resource>.Arn is resolved, not ${attribute}`);
      return arnOf(String(logicalId));
    }
    if ('Ref' in object) {
      const name = String(object.Ref);
      return pseudo[name] ?? declaredName(name) ?? physical(name);
    }
    return Object.fromEntries(Object.entries(object).map(([key, inner]) => [key, resolve(inner)]));
  };

  return {
    document,
    resources,
    resolve,
    created: (resource) => resource.Condition === undefined || holds({ Condition: resource.Condition }),
    roleArn,
  };
}

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);
