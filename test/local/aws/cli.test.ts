import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useAwsDouble } from './double.js';

const aws = useAwsDouble();
const hasAwsCli = spawnSync('aws', ['--version']).status === 0;

/** Runs the AWS CLI against the double (asynchronously: the double answers from this process). */
async function cli(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(
    'aws',
    [...args, '--endpoint-url', aws.double().url, '--output', 'json'],
    {
      env: {
        ...process.env,
        ...aws.double().env(),
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    },
  );
  return stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {};
}

describe.skipIf(!hasAwsCli)('AWS CLI against the double', () => {
  // Each CLI start costs seconds (Python), so this one test gets a generous budget.
  it('serves App Mesh, Cloud Map, Tagging API, S3 and EventBridge commands', { timeout: 300_000 }, async () => {
    await cli('appmesh', 'create-mesh', '--mesh-name', 'apps');
    const meshes = await cli('appmesh', 'list-meshes');
    expect(meshes.meshes).toMatchObject([{ meshName: 'apps', version: 1 }]);
    await expect(cli('appmesh', 'describe-mesh', '--mesh-name', 'nope')).rejects.toMatchObject({
      stderr: expect.stringContaining('NotFoundException'),
    });

    const { OperationId } = await cli('servicediscovery', 'create-http-namespace', '--name', 'apps.local');
    const { Operation } = await cli('servicediscovery', 'get-operation', '--operation-id', String(OperationId));
    const namespaceId = (Operation as { Targets: { NAMESPACE: string } }).Targets.NAMESPACE;
    const { Service } = await cli(
      'servicediscovery',
      'create-service',
      '--name',
      'orders',
      '--namespace-id',
      namespaceId,
    );
    const serviceId = (Service as { Id: string }).Id;
    await cli(
      'servicediscovery',
      'register-instance',
      '--service-id',
      serviceId,
      '--instance-id',
      'i-1',
      '--attributes',
      'AWS_INSTANCE_IPV4=10.0.0.1',
    );
    const instances = await cli('servicediscovery', 'list-instances', '--service-id', serviceId);
    expect(instances.Instances).toEqual([{ Id: 'i-1', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1' } }]);

    await cli(
      'servicediscovery',
      'tag-resource',
      '--resource-arn',
      String((Service as { Arn: string }).Arn),
      '--tags',
      'Key=meshgate:expose,Value=true',
    );
    const tagged = await cli(
      'resourcegroupstaggingapi',
      'get-resources',
      '--resource-type-filters',
      'servicediscovery:service',
      '--tag-filters',
      'Key=meshgate:expose',
      '--resources-per-page',
      '1',
    );
    expect(tagged.ResourceTagMappingList).toEqual([
      { ResourceARN: (Service as { Arn: string }).Arn, Tags: [{ Key: 'meshgate:expose', Value: 'true' }] },
    ]);

    await cli('s3api', 'create-bucket', '--bucket', 'snapshots');
    await cli('s3api', 'put-object', '--bucket', 'snapshots', '--key', 'a.json', '--body', 'package.json');
    const listed = await cli('s3api', 'list-objects-v2', '--bucket', 'snapshots');
    expect(listed.Contents).toMatchObject([{ Key: 'a.json', Size: statSync('package.json').size }]);

    const put = await cli(
      'events',
      'put-events',
      '--entries',
      JSON.stringify([{ Source: 'meshgate', DetailType: 'Sync Planned', Detail: '{"ok":true}' }]),
    );
    expect(put.FailedEntryCount).toBe(0);
  });

  it('serves what meshgate doctor reads: CloudTrail (JSON 1.1) and IAM SimulatePrincipalPolicy (awsQuery)', {
    timeout: 300_000,
  }, async () => {
    await cli('s3api', 'create-bucket', '--bucket', 'trail-logs');
    await cli(
      'cloudtrail',
      'create-trail',
      '--name',
      'org',
      '--s3-bucket-name',
      'trail-logs',
      '--is-multi-region-trail',
    );
    const trails = await cli('cloudtrail', 'describe-trails');
    expect(trails.trailList).toMatchObject([
      { Name: 'org', IsMultiRegionTrail: true, HomeRegion: aws.double().region },
    ]);

    const simulated = await cli(
      'iam',
      'simulate-principal-policy',
      '--policy-source-arn',
      aws.double().functionRoles.meshSync!,
      '--action-names',
      'servicediscovery:ListTagsForResource',
      'servicediscovery:DeleteService',
    );
    expect(simulated.EvaluationResults).toMatchObject([
      { EvalActionName: 'servicediscovery:ListTagsForResource', EvalResourceName: '*', EvalDecision: 'allowed' },
      { EvalActionName: 'servicediscovery:DeleteService', EvalResourceName: '*', EvalDecision: 'implicitDeny' },
    ]);
  });
});

describe('npm run local:aws', () => {
  it('serves on the given port, prints the URL and the env, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/aws/main.ts', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        output += chunk;
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (match?.[1] && output.includes('AWS_ENDPOINT_URL')) resolve(match[1]);
      });
      child.once('exit', () => reject(new Error(`exited early: ${output}`)));
    });
    expect(output).toContain(`export AWS_ENDPOINT_URL=${url}`);
    const response = await fetch(`${url}/v20190125/meshes`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ meshes: [] });
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});
