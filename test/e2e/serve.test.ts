import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findLeaks } from '../support/secrets.js';
import { eventually, freePort, npmStart, REPO, stop } from './support.js';

const run = promisify(execFile);
const awsCliAvailable = await run('aws', ['--version']).then(
  () => true,
  () => false,
);

describe.skipIf(!awsCliAvailable)('npm start -- --serve, driven by the AWS CLI', () => {
  let serve: ReturnType<typeof npmStart>;
  let kongUrl: string;
  let awsUrl: string;

  beforeAll(async () => {
    const [kongPort, awsPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
    kongUrl = `http://127.0.0.1:${kongPort}`;
    awsUrl = `http://127.0.0.1:${awsPort}`;
    serve = npmStart([
      '--serve',
      '--kong-port',
      String(kongPort),
      '--aws-port',
      String(awsPort),
      '--proxy-port',
      String(proxyPort),
    ]);
    await eventually(
      async () => (serve.output().includes('Ctrl-C stops the stack') ? true : undefined),
      60_000,
      `the stack to come up; output so far:\n${serve.output()}`,
    );
  }, 90_000);

  afterAll(() => {
    if (serve) stop(serve.child);
  });

  /** The env the serve output tells a user to export, read back from that output. */
  function exportedEnv(): Record<string, string> {
    return Object.fromEntries(
      [...serve.output().matchAll(/^ {2}export ([A-Z0-9_]+)=(.*)$/gm)].map((match) => [match[1], match[2]]),
    );
  }

  const aws = async (...args: string[]) => {
    const { stdout } = await run('aws', ['--endpoint-url', awsUrl, '--output', 'json', ...args], {
      env: { ...process.env, ...exportedEnv() },
    });
    return stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {};
  };

  it('prints the endpoints and the environment to export', () => {
    const env = exportedEnv();
    expect(env).toMatchObject({ AWS_ENDPOINT_URL: awsUrl, KONG_ADMIN_URL: kongUrl, MESHGATE_STAGE: 'local' });
    expect(env.MESHGATE_STATE_DIR).toBeTruthy();
    expect(serve.output()).toContain(`deck dump --kong-addr ${kongUrl}`);
    expect(serve.output()).toMatch(/Kong proxy double {7}http:\/\/127\.0\.0\.1:\d+/);
    expect(serve.output()).toMatch(/token function URL {6}http:\/\/127\.0\.0\.1:\d+\//);
  });

  it('a Cloud Map service exposed with the AWS CLI appears in Kong through the same event delivery', async () => {
    await aws('servicediscovery', 'create-http-namespace', '--name', 'cli.local');
    const { Namespaces } = (await aws('servicediscovery', 'list-namespaces')) as {
      Namespaces: { Id: string; Name: string }[];
    };
    const namespaceId = Namespaces.find((namespace) => namespace.Name === 'cli.local')?.Id ?? '';
    const { Service } = (await aws(
      'servicediscovery',
      'create-service',
      '--name',
      'web',
      '--namespace-id',
      namespaceId,
      '--tags',
      'Key=meshgate:expose,Value=true',
    )) as { Service: { Id: string } };
    await aws(
      'servicediscovery',
      'register-instance',
      '--service-id',
      Service.Id,
      '--instance-id',
      'web-1',
      '--attributes',
      'AWS_INSTANCE_IPV4=10.9.0.1,AWS_INSTANCE_PORT=8080',
    );

    // RegisterInstance → CloudTrail event → meshSync (scoped to the service's upstream): Kong follows.
    const targets = await eventually(
      async () => {
        const response = await fetch(`${kongUrl}/upstreams/web.cli.local/targets`);
        if (!response.ok) return undefined;
        const { data } = (await response.json()) as { data: { target: string }[] };
        return data.length > 0 ? data.map((target) => target.target) : undefined;
      },
      30_000,
      'the target in Kong',
    );
    expect(targets).toEqual(['10.9.0.1:8080']);
    // The target is in Kong before the run ends (it still records the run and releases the lease), so the line
    // describing the run may come a moment later.
    const line = /meshSync ← meshgate-local-meshSync-rule-2: applied \[cloudmap:RegisterInstance\]/;
    await eventually(async () => (line.test(serve.output()) ? true : undefined), 30_000, 'the run line');
    expect(serve.output()).toMatch(line);
    expect(findLeaks(serve.output())).toEqual([]);
  }, 120_000);

  it('serverless invoke local runs meshSync in its own process against the stack, with the exported env', async () => {
    const { stdout } = await run(
      'npx',
      ['serverless', 'invoke', 'local', '-f', 'meshSync', '--path', 'events/manual-sync.json', '--stage', 'local'],
      {
        cwd: REPO,
        env: { ...process.env, ...exportedEnv(), POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' },
      },
    );
    // events/manual-sync.json is a dry run: the plan is reported, nothing applied.
    expect(stdout).toContain('"trigger": "operator check"');
    expect(stdout).toMatch(/"outcome": "(no-changes|planned)"/);
    expect(findLeaks(stdout)).toEqual([]);
  }, 120_000);
});
