/**
 * The AWS calls each function makes, next to the composition roots that build its clients: one source for what
 * `meshgate doctor` asks IAM to simulate for each function's role, and for the test that holds serverless.yml's
 * grants to it (test/doctor/calls.test.ts). A call names a sample resource of the kind it touches; `{…}` fills in
 * from the deployed function (its region, account, stage and environment). Pure data, no SDK.
 */

export type MeshgateFunction = 'meshSync' | 'rotateKeys' | 'rollback' | 'issueToken';

/** When a call is made: always, or only with the configuration that needs it. */
export type CallCondition = 'always' | 'appMesh' | 's3Store' | 'adminToken';

export interface AwsCall {
  action: string;
  /** A sample ARN of the resource the call is authorized on, with `{placeholders}`; `*` for account-wide actions. */
  resource: string;
  when: CallCondition;
}

const call = (action: string, resource: string, when: CallCondition = 'always'): AwsCall => ({
  action,
  resource,
  when,
});

const SERVICE = 'arn:{partition}:servicediscovery:{region}:{account}:service/srv-meshgatedoctor';
const NAMESPACE = 'arn:{partition}:servicediscovery:{region}:{account}:namespace/ns-meshgatedoctor';
const MESH = 'arn:{partition}:appmesh:{region}:{account}:mesh/{mesh}';
const GATEWAY = `${MESH}/virtualGateway/doctor`;
const CONSUMER_SECRET = 'arn:{partition}:secretsmanager:{region}:{account}:secret:{consumerSecretPrefix}doctor-AbCdEf';
const OBJECT = 'arn:{partition}:s3:::{bucket}/lease.json';
const BUCKET = 'arn:{partition}:s3:::{bucket}';

/** Every function writes its logs and traces. */
const observability = [
  call(
    'logs:CreateLogStream',
    'arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{functionName}:log-stream:doctor',
  ),
  call(
    'logs:PutLogEvents',
    'arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{functionName}:log-stream:doctor',
  ),
  call('xray:PutTraceSegments', '*'),
  call('xray:PutTelemetryRecords', '*'),
];
const audit = call('events:PutEvents', 'arn:{partition}:events:{region}:{account}:event-bus/{auditBus}');
/** Lambda sends a failed asynchronous invocation to the dead-letter queue with the function's role. */
const deadLetters = call('sqs:SendMessage', 'arn:{partition}:sqs:{region}:{account}:meshgate-{stage}-dlq');
const stateStore = [
  call('s3:GetObject', OBJECT, 's3Store'),
  call('s3:PutObject', OBJECT, 's3Store'),
  call('s3:DeleteObject', OBJECT, 's3Store'),
  call('s3:ListBucket', BUCKET, 's3Store'),
];
const adminToken = call('secretsmanager:GetSecretValue', '{adminTokenSecretArn}', 'adminToken');
const listSecrets = call('secretsmanager:ListSecrets', '*');
/** Reading the mesh: meshSync, and rollback for `status`. */
const meshReads = [
  call('servicediscovery:ListNamespaces', '*'),
  call('servicediscovery:ListServices', '*'),
  call('servicediscovery:ListTagsForResource', '*'),
  call('servicediscovery:GetService', SERVICE),
  call('servicediscovery:GetNamespace', NAMESPACE),
  call('servicediscovery:ListInstances', SERVICE),
  call('servicediscovery:GetOperation', SERVICE),
  call('servicediscovery:DiscoverInstances', NAMESPACE),
  call('tag:GetResources', '*'),
  call('appmesh:ListVirtualGateways', MESH, 'appMesh'),
  call('appmesh:ListVirtualServices', MESH, 'appMesh'),
  call('appmesh:DescribeVirtualGateway', GATEWAY, 'appMesh'),
  call('appmesh:ListGatewayRoutes', GATEWAY, 'appMesh'),
  call('appmesh:DescribeGatewayRoute', `${GATEWAY}/gatewayRoute/doctor`, 'appMesh'),
  call('appmesh:DescribeVirtualService', `${MESH}/virtualService/doctor`, 'appMesh'),
  call('appmesh:ListTagsForResource', GATEWAY, 'appMesh'),
];
/** Asking meshSync for a sync: an event on the default bus that meshSync's rule delivers (events/sync-request.ts). */
const requestSync = call('events:PutEvents', 'arn:{partition}:events:{region}:{account}:event-bus/default');

export const FUNCTION_CALLS: Record<MeshgateFunction, readonly AwsCall[]> = {
  meshSync: [
    ...observability,
    ...meshReads,
    // Consumers from ListSecrets and the state store's public-key document: no consumer secret value.
    listSecrets,
    adminToken,
    ...stateStore,
    audit,
    deadLetters,
  ],
  rotateKeys: [
    ...observability,
    listSecrets,
    ...['DescribeSecret', 'GetSecretValue', 'PutSecretValue', 'UpdateSecretVersionStage', 'RotateSecret'].map(
      (action) => call(`secretsmanager:${action}`, CONSUMER_SECRET),
    ),
    // RotateSecret makes Secrets Manager invoke this function with the caller's rights.
    call('lambda:InvokeFunction', 'arn:{partition}:lambda:{region}:{account}:function:meshgate-{stage}-rotateKeys'),
    adminToken,
    ...stateStore,
    requestSync,
    audit,
    deadLetters,
  ],
  rollback: [
    ...observability,
    ...meshReads,
    listSecrets,
    // Key rollback relabels versions whose public keys the state store's document holds.
    ...['DescribeSecret', 'UpdateSecretVersionStage'].map((action) =>
      call(`secretsmanager:${action}`, CONSUMER_SECRET),
    ),
    adminToken,
    ...stateStore,
    requestSync,
    audit,
  ],
  issueToken: [
    ...observability,
    listSecrets,
    call('secretsmanager:DescribeSecret', CONSUMER_SECRET),
    call('secretsmanager:GetSecretValue', CONSUMER_SECRET),
    audit,
  ],
};

/** What fills a call's placeholders: the deployed function and its environment. */
export interface CallContext {
  partition: string;
  region: string;
  account: string;
  stage: string;
  functionName: string;
  env: Record<string, string | undefined>;
}

/** The calls `fn` makes with this configuration, each with its resource filled in. Pure. */
export function callsOf(fn: MeshgateFunction, context: CallContext): AwsCall[] {
  const { env } = context;
  const applies: Record<CallCondition, boolean> = {
    always: true,
    appMesh: Boolean(env.MESH_NAMES?.trim()),
    s3Store: Boolean(env.SNAPSHOT_BUCKET),
    adminToken: Boolean(env.KONG_ADMIN_TOKEN_SECRET_ARN),
  };
  const values: Record<string, string> = {
    partition: context.partition,
    region: context.region,
    account: context.account,
    stage: context.stage,
    functionName: context.functionName,
    mesh: env.MESH_NAMES?.split(',')[0]?.trim() ?? '',
    consumerSecretPrefix: env.CONSUMER_SECRET_PREFIX ?? 'meshgate/consumers/',
    bucket: env.SNAPSHOT_BUCKET ?? '',
    auditBus: env.AUDIT_BUS_NAME ?? '',
    adminTokenSecretArn: env.KONG_ADMIN_TOKEN_SECRET_ARN ?? '',
  };
  return FUNCTION_CALLS[fn]
    .filter((entry) => applies[entry.when])
    .map((entry) => ({
      ...entry,
      resource: entry.resource.replace(/\{(\w+)\}/g, (_whole, name: string) => values[name] ?? ''),
    }));
}
