import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AuditReader, parseSince, readAudit, renderAudit } from '../../cli/audit.js';
import { main } from '../../cli/main.js';
import { type AwsDouble, startAwsDouble } from '../../local/aws/server.js';
import { createStackResources } from '../../local/aws/stack-resources.js';
import { EventBridgeAuditPublisher } from '../../shared/events/audit.js';

/**
 * `meshgate audit`: what meshgate's own publisher puts on the audit bus reaches the log group through
 * serverless.yml's rule (on the AWS double), and the CLI reads it back newest first.
 */

describe('--since', () => {
  it('takes a duration and refuses anything else, naming the value', () => {
    expect(parseSince('90m')).toBe(90 * 60_000);
    expect(parseSince(undefined)).toBe(24 * 3_600_000);
    expect(() => parseSince('yesterday')).toThrow("--since 'yesterday': expected a duration such as 30m, 12h or 7d");
    expect(() => parseSince('0h')).toThrow("--since '0h'");
    expect(() => parseSince('5\u001b[2J')).toThrow("--since '5\\x1b[2J'");
  });
});

describe('readAudit', () => {
  const event = (id: string, detail: Record<string, unknown> = {}) =>
    JSON.stringify({ id, 'detail-type': 'Sync Applied', source: 'meshgate', time: '2026-12-02T06:00:00Z', detail });

  it('follows nextToken through empty pages to the last page (no token), newest first, skipping foreign lines', async () => {
    const pages = [
      { events: [{ timestamp: 1, message: event('a') }], nextToken: 't1' },
      // The API may return an empty page while more follow.
      { events: [], nextToken: 't2' },
      {
        events: [
          { timestamp: 3, message: event('c') },
          { timestamp: 3, message: event('d') },
          { timestamp: 4, message: 'START RequestId: not an audit event' },
        ],
      },
    ];
    const tokens: (string | undefined)[] = [];
    const reader: AuditReader = {
      send: async (command) => {
        tokens.push(command.input.nextToken);
        return pages[tokens.length - 1] ?? {};
      },
    };
    const { events, skipped } = await readAudit(reader, '/g', 0);
    expect(tokens).toEqual([undefined, 't1', 't2']);
    expect(events.map((item) => item.id)).toEqual(['d', 'c', 'a']);
    expect(skipped).toBe(1);
  });
});

describe('renderAudit', () => {
  it('prints one line per event, control characters escaped', () => {
    const text = renderAudit(
      [
        {
          id: 'e1',
          'detail-type': 'Sync Frozen',
          source: 'meshgate',
          time: '2026-12-02T06:00:00Z',
          detail: { by: 'mallory\n2026-12-02T07:00:00Z  Sync Resumed', reason: 'x\u001b[31m' },
        },
      ],
      '24h',
    );
    expect(text.split('\n')).toHaveLength(1);
    expect(text).toContain('mallory\\x0a2026-12-02T07:00:00Z  Sync Resumed');
    expect(text).toContain('reason=x\\x1b[31m');
  });
});

describe('meshgate audit against the AWS double', () => {
  let aws: AwsDouble;
  let env: Record<string, string>;
  let publisher: EventBridgeAuditPublisher;
  let events: EventBridgeClient;

  beforeAll(async () => {
    aws = await startAwsDouble();
    env = {
      ...aws.env(),
      MESHGATE_STATE_DIR: mkdtempSync(join(tmpdir(), 'meshgate-audit-')),
      AUDIT_BUS_NAME: 'meshgate-audit-local',
      KONG_ADMIN_URL: 'http://127.0.0.1:1',
    };
    events = new EventBridgeClient({
      endpoint: aws.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' },
    });
    publisher = new EventBridgeAuditPublisher(events, 'meshgate-audit-local', 'local');
  });
  beforeEach(async () => {
    aws.reset();
    await createStackResources(aws.url, { stage: 'local', account: aws.account, region: aws.region });
    // The SDK takes the endpoint from the process's environment.
    for (const [name, value] of Object.entries(aws.env())) vi.stubEnv(name, value);
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    events?.destroy();
    await aws?.close();
  });

  const meshgate = (...argv: string[]) => meshgateWith(env, argv);

  async function meshgateWith(withEnv: Record<string, string>, argv: string[]) {
    let out = '';
    let err = '';
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      err += String(chunk);
      return true;
    });
    try {
      process.exitCode = undefined;
      return { code: await main(argv, withEnv), out, err };
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      process.exitCode = undefined;
    }
  }

  it('lists what meshgate published, newest first, with time, who, what and the run', async () => {
    await publisher.publish('Sync Applied', {
      trigger: 'schedule',
      runId: '20261202T060000000Z-aaaa',
      outcome: 'applied',
      counts: { total: 3 },
    });
    await publisher.publish('Sync Frozen', { by: 'alice', reason: 'incident 42', since: '2026-12-02T06:01:00Z' });
    await publisher.publish('Token Issued', {
      outcome: 'issued',
      caller: 'arn:aws:sts::123456789012:assumed-role/checkout/w-1',
      consumer: 'checkout',
      token: 'eyJhbGciOi.never.shown',
    });

    const text = await meshgate('audit', '--since', '1h');
    expect(text.code).toBe(0);
    const lines = text.out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ Token Issued +arn:aws:sts::123456789012:assumed-role\/checkout\/w-1 run - +outcome=issued consumer=checkout$/,
    );
    expect(lines[1]).toMatch(/ Sync Frozen +alice +run - +reason=incident 42$/);
    expect(lines[2]).toMatch(/ Sync Applied +meshSync:schedule +run 20261202T060000000Z-aaaa +outcome=applied ops=3$/);
    expect(text.out).not.toContain('never.shown');

    const json = await meshgate('audit', '--json');
    const printed = JSON.parse(json.out) as { 'detail-type': string; detail: Record<string, unknown> }[];
    expect(printed.map((event) => event['detail-type'])).toEqual(['Token Issued', 'Sync Frozen', 'Sync Applied']);
    expect(printed[1]?.detail).toMatchObject({ instance: 'local', by: 'alice' });
  });

  it('says so when nothing happened in the window, and refuses a bad --since with exit 2', async () => {
    expect((await meshgate('audit')).out).toBe('no audit events in the last 24h\n');
    expect(await meshgate('audit', '--since', '2 days')).toMatchObject({
      code: 2,
      err: "meshgate: --since '2 days': expected a duration such as 30m, 12h or 7d (units ms, s, m, h, d)\n",
    });
  });

  it('names the log group when it cannot be read', async () => {
    expect(await meshgateWith({ ...env, AUDIT_LOG_GROUP: '/aws/events/gone' }, ['audit'])).toMatchObject({
      code: 1,
      err: 'meshgate: could not read the audit log group /aws/events/gone: The specified log group does not exist.\n',
    });
  });
});
