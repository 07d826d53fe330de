import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  ListTagsForResourceCommand,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { credentialsForRole, roleForAccessKey } from '../../../local/aws/identity.js';
import { type AwsDouble, startAwsDouble } from '../../../local/aws/server.js';

let double: AwsDouble;
const operator = { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' };

beforeAll(async () => {
  double = await startAwsDouble();
});
afterAll(async () => {
  await double.close();
});
beforeEach(() => double.reset());

const meshSyncRole = () => double.functionRoles.meshSync!;
const asRole = (role: string, session = 'meshgate-local-meshSync') => credentialsForRole(role, session);

function cloudMap(credentials = operator) {
  return new ServiceDiscoveryClient({
    endpoint: double.url,
    region: double.region,
    credentials,
    disableHostPrefix: true,
  });
}

async function createService(): Promise<string> {
  const client = cloudMap();
  await client.send(new CreateHttpNamespaceCommand({ Name: 'shop' }));
  const namespaceId = await firstNamespace();
  const created = await client.send(new CreateServiceCommand({ Name: 'orders', NamespaceId: namespaceId }));
  return created.Service!.Arn!;
}

async function firstNamespace(): Promise<string> {
  const { ListNamespacesCommand } = await import('@aws-sdk/client-servicediscovery');
  const listed = await cloudMap().send(new ListNamespacesCommand({}));
  return listed.Namespaces![0]!.Id!;
}

describe('role-bound credentials', () => {
  it('maps an access key back to its role and session, in any process', () => {
    const credentials = credentialsForRole('arn:aws:iam::123456789012:role/meshgate-local-MeshSyncRole', 'fn');
    expect(credentials.accessKeyId).toMatch(/^ASIA[A-Z2-7]+$/);
    expect(roleForAccessKey(credentials.accessKeyId)).toEqual({
      roleArn: 'arn:aws:iam::123456789012:role/meshgate-local-MeshSyncRole',
      secretAccessKey: credentials.secretAccessKey,
      sessionName: 'fn',
    });
    expect(roleForAccessKey('meshgate-local')).toBeUndefined();
  });
});

describe('IAM enforced by the AWS double', () => {
  it('allows what the role grants: ListTagsForResource on "*"', async () => {
    const arn = await createService();
    const tags = await cloudMap(asRole(meshSyncRole())).send(new ListTagsForResourceCommand({ ResourceARN: arn }));
    expect(tags.Tags).toEqual([]);
  });

  it('refuses the old grant (ListTagsForResource on namespace/* and service/*): the action has no resource-level permissions', async () => {
    const arn = await createService();
    const role = double.iam.role(meshSyncRole())!;
    double.iam.setStatements(role.arn, [
      {
        Effect: 'Allow',
        Action: ['servicediscovery:GetService', 'servicediscovery:ListTagsForResource'],
        Resource: [
          'arn:aws:servicediscovery:us-east-1:123456789012:namespace/*',
          'arn:aws:servicediscovery:us-east-1:123456789012:service/*',
        ],
      },
    ]);
    const error = await cloudMap(asRole(role.arn))
      .send(new ListTagsForResourceCommand({ ResourceARN: arn }))
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      message:
        'User: arn:aws:sts::123456789012:assumed-role/meshgate-local-MeshSyncRole/meshgate-local-meshSync is not authorized to perform: servicediscovery:ListTagsForResource because no identity-based policy allows the servicediscovery:ListTagsForResource action',
    });
  });

  it('an explicit Deny wins over an Allow, and names the resource', async () => {
    const arn = await createService();
    const role = double.iam.role(meshSyncRole())!;
    const id = arn.split('/').at(-1)!;
    double.iam.setStatements(role.arn, [
      { Effect: 'Allow', Action: 'servicediscovery:*', Resource: '*' },
      { Effect: 'Deny', Action: 'servicediscovery:Get*', Resource: arn },
    ]);
    const { GetServiceCommand } = await import('@aws-sdk/client-servicediscovery');
    const error = await cloudMap(asRole(role.arn))
      .send(new GetServiceCommand({ Id: id }))
      .catch((caught: unknown) => caught);
    expect((error as Error).message).toBe(
      `User: arn:aws:sts::123456789012:assumed-role/meshgate-local-MeshSyncRole/meshgate-local-meshSync is not authorized to perform: servicediscovery:GetService on resource: ${arn} with an explicit deny in an identity-based policy`,
    );
  });

  it('scopes secrets to their full ARN: the rotateKeys role reads consumer secrets, not others; meshSync none', async () => {
    const sm = (credentials = operator) =>
      new SecretsManagerClient({ endpoint: double.url, region: double.region, credentials });
    const { CreateSecretCommand } = await import('@aws-sdk/client-secrets-manager');
    await sm().send(new CreateSecretCommand({ Name: 'meshgate/consumers/alice', SecretString: '{}' }));
    await sm().send(new CreateSecretCommand({ Name: 'payments/db', SecretString: 'x' }));
    const role = sm(asRole(double.functionRoles.rotateKeys!, 'meshgate-local-rotateKeys'));
    await expect(role.send(new GetSecretValueCommand({ SecretId: 'meshgate/consumers/alice' }))).resolves.toBeDefined();
    await expect(role.send(new ListSecretsCommand({}))).resolves.toBeDefined();
    await expect(role.send(new GetSecretValueCommand({ SecretId: 'payments/db' }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    // meshSync reads public keys from the state store's document: no consumer secret value, only names and labels.
    const meshSync = sm(asRole(meshSyncRole()));
    await expect(meshSync.send(new ListSecretsCommand({}))).resolves.toBeDefined();
    await expect(
      meshSync.send(new GetSecretValueCommand({ SecretId: 'meshgate/consumers/alice' })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('answers S3 refusals as S3 does: 403 AccessDenied in XML', async () => {
    const s3 = new S3Client({
      endpoint: double.url,
      region: double.region,
      credentials: asRole(double.functionRoles.rotateKeys!, 'meshgate-local-rotateKeys'),
      forcePathStyle: true,
    });
    const error = await s3
      .send(new GetObjectCommand({ Bucket: 'someone-elses-bucket', Key: 'x' }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect((error as Error).message).toContain(
      'is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::someone-elses-bucket/x"',
    );
  });

  it('refuses keys of a role serverless.yml does not declare', async () => {
    const error = await cloudMap(asRole('arn:aws:iam::123456789012:role/someone-else'))
      .send(
        new ListTagsForResourceCommand({
          ResourceARN: 'arn:aws:servicediscovery:us-east-1:123456789012:service/srv-x',
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'UnrecognizedClientException' });
  });
});
