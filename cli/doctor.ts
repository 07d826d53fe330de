/**
 * `meshgate doctor [--remote]`: checks what a deployment needs around it, one line per check with ✓ or ✗ and, for
 * ✗, the fix. The checks read AWS as the operator (CloudTrail, EventBridge, IAM's policy simulator, Lambda's
 * function configuration, Secrets Manager's metadata, never a secret's value); only the Admin API check runs in the
 * function (`--remote`), which reports Kong's version and database mode. This module is the CLI's: no function
 * bundle loads the CloudTrail or IAM clients.
 */
import { fileURLToPath } from 'node:url';
import {
  type CloudTrailClient,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  type GetEventSelectorsCommandOutput,
  GetTrailStatusCommand,
} from '@aws-sdk/client-cloudtrail';
import { type EventBridgeClient, ListRulesCommand, type Rule } from '@aws-sdk/client-eventbridge';
import { type IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { type AwsCall, callsOf, type MeshgateFunction } from '../shared/app/calls.js';
import type { SecretsManagerCalls } from '../shared/aws/secrets-manager.js';
import { errorMessage } from '../shared/errors.js';
import type { KongPing } from '../shared/operations/ping.js';
import { readServerlessFunctions } from './serverless-yml.js';

export interface Check {
  ok: boolean;
  /** What was checked, e.g. `trail`, `rules`, `role meshSync`. */
  name: string;
  detail: string;
  /** For a ✗: what to do. */
  fix?: string;
}

export interface DoctorClients {
  cloudTrail: CloudTrailClient;
  eventBridge: EventBridgeClient;
  iam: IAMClient;
  lambda: LambdaClient;
  secretsManager: SecretsManagerCalls;
}

export interface DoctorOptions {
  region: string;
  stage: string;
  /** Reaches the Admin API: from the rollback function (`--remote`) or from here. */
  ping: () => Promise<KongPing>;
  remote: boolean;
  /** serverless.yml (default: the package's). */
  serverlessYml?: string;
}

const SERVERLESS_YML = fileURLToPath(new URL('../serverless.yml', import.meta.url));
const FUNCTIONS: MeshgateFunction[] = ['meshSync', 'rotateKeys', 'rollback', 'issueToken'];

/** Every check, in order; each failure becomes a ✗ of its own, never an exception. */
export async function runDoctor(clients: DoctorClients, options: DoctorOptions): Promise<Check[]> {
  const deployed = await Promise.all(FUNCTIONS.map((fn) => functionConfiguration(clients.lambda, options.stage, fn)));
  const checks: Check[] = [
    await guarded('trail', () => checkTrail(clients.cloudTrail, options.region)),
    await guarded('rules', () => checkRules(clients.eventBridge, options)),
  ];
  for (const [index, fn] of FUNCTIONS.entries()) {
    checks.push(await guarded(`role ${fn}`, () => checkRole(clients.iam, fn, deployed[index]!, options.stage)));
  }
  const meshSync = deployed[0];
  checks.push(await guarded('admin token', () => checkAdminToken(clients.secretsManager, meshSync)));
  checks.push(await guarded('Admin API', () => checkAdminApi(options)));
  return checks;
}

/** `✓ trail: …` / `✗ trail: … — fix: …`, one line each. */
export function renderChecks(checks: readonly Check[]): string {
  return checks
    .map((check) => `${check.ok ? '✓' : '✗'} ${check.name}: ${check.detail}${check.fix ? ` — fix: ${check.fix}` : ''}`)
    .join('\n');
}

async function guarded(name: string, check: () => Promise<Check>): Promise<Check> {
  try {
    return await check();
  } catch (error) {
    return {
      ok: false,
      name,
      detail: `could not check: ${errorMessage(error)}`,
      fix: 'run with credentials that may read it (doctor needs cloudtrail:Describe*/Get*, events:ListRules, iam:SimulatePrincipalPolicy, lambda:GetFunctionConfiguration, secretsmanager:DescribeSecret)',
    };
  }
}

/** The facts of one trail that decide whether it delivers meshgate's events. */
export interface TrailFacts {
  name: string;
  arn: string;
  homeRegion: string;
  multiRegion: boolean;
  logging: boolean;
  /** Logs write management events (the calls meshgate's rules match are writes). */
  writeManagementEvents: boolean;
}

/**
 * EventBridge gets "AWS API Call via CloudTrail" events only for calls a trail records: one trail that covers the
 * region (its home region, or multi-region), is logging, and logs write management events. Pure.
 */
export function judgeTrails(trails: readonly TrailFacts[], region: string): Check {
  const name = 'trail';
  const covering = trails.filter((trail) => trail.homeRegion === region || trail.multiRegion);
  const good = covering.find((trail) => trail.logging && trail.writeManagementEvents);
  if (good) {
    return {
      ok: true,
      name,
      detail: `${good.name} logs management events in ${region}${good.multiRegion ? ' (multi-region)' : ''}`,
    };
  }
  const stopped = covering.find((trail) => !trail.logging);
  if (stopped) {
    return {
      ok: false,
      name,
      detail: `${stopped.name} covers ${region} but is not logging: meshgate's rules get no events`,
      fix: `aws cloudtrail start-logging --name ${stopped.arn}`,
    };
  }
  const unselected = covering[0];
  if (unselected) {
    return {
      ok: false,
      name,
      detail: `${unselected.name} does not log write management events: meshgate's rules get no events`,
      fix: `aws cloudtrail put-event-selectors --trail-name ${unselected.arn} --event-selectors '[{"ReadWriteType":"All","IncludeManagementEvents":true}]'`,
    };
  }
  return {
    ok: false,
    name,
    detail: `no trail logs management events in ${region}: meshgate's rules get no events, Kong follows the mesh only at drift repair`,
    fix: "aws cloudtrail create-trail --name meshgate-trail --s3-bucket-name BUCKET --is-multi-region-trail && aws cloudtrail start-logging --name meshgate-trail (the bucket needs CloudTrail's bucket policy)",
  };
}

async function checkTrail(cloudTrail: CloudTrailClient, region: string): Promise<Check> {
  const { trailList = [] } = await cloudTrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }));
  const facts = await Promise.all(
    trailList.map(async (trail): Promise<TrailFacts> => {
      // A shadow trail (another region's multi-region trail) is read by its ARN.
      const id = trail.TrailARN ?? trail.Name ?? '';
      const [status, selectors] = await Promise.all([
        cloudTrail.send(new GetTrailStatusCommand({ Name: id })),
        cloudTrail.send(new GetEventSelectorsCommand({ TrailName: id })),
      ]);
      return {
        name: trail.Name ?? id,
        arn: id,
        homeRegion: trail.HomeRegion ?? region,
        multiRegion: trail.IsMultiRegionTrail === true,
        logging: status.IsLogging === true,
        writeManagementEvents: logsWriteManagementEvents(selectors),
      };
    }),
  );
  return judgeTrails(facts, region);
}

/** Basic selectors: management events included and not read-only. Advanced: a selector on the Management category that does not keep only reads. */
export function logsWriteManagementEvents(
  selectors: Pick<GetEventSelectorsCommandOutput, 'EventSelectors' | 'AdvancedEventSelectors'>,
): boolean {
  if (selectors.EventSelectors?.some((s) => s.IncludeManagementEvents !== false && s.ReadWriteType !== 'ReadOnly')) {
    return true;
  }
  return (selectors.AdvancedEventSelectors ?? []).some((selector) => {
    const fields = selector.FieldSelectors ?? [];
    const category = fields.find((field) => field.Field === 'eventCategory');
    const readOnly = fields.find((field) => field.Field === 'readOnly');
    return category?.Equals?.includes('Management') === true && !readOnly?.Equals?.includes('true');
  });
}

/** meshgate's rules as serverless.yml declares them for the stage, present and enabled on the default bus. */
async function checkRules(eventBridge: EventBridgeClient, options: DoctorOptions): Promise<Check> {
  const expected = readServerlessFunctions(options.serverlessYml ?? SERVERLESS_YML, { stage: options.stage }).flatMap(
    (fn) => fn.rules.map((rule) => rule.name),
  );
  const present = new Map<string, Rule>();
  let token: string | undefined;
  do {
    const page = await eventBridge.send(
      new ListRulesCommand({ NamePrefix: `meshgate-${options.stage}-`, NextToken: token, Limit: 100 }),
    );
    for (const rule of page.Rules ?? []) if (rule.Name) present.set(rule.Name, rule);
    token = page.NextToken;
  } while (token);
  return judgeRules(expected, present, options.stage);
}

/** Pure: which expected rules are missing or disabled. */
export function judgeRules(
  expected: readonly string[],
  present: ReadonlyMap<string, Pick<Rule, 'State'>>,
  stage: string,
): Check {
  const missing = expected.filter((name) => !present.has(name));
  const disabled = expected.filter((name) => present.get(name)?.State === 'DISABLED');
  if (missing.length > 0) {
    return {
      ok: false,
      name: 'rules',
      detail: `missing ${missing.join(', ')}`,
      fix: `npx serverless deploy --stage ${stage} (the rules are part of meshgate's stack)`,
    };
  }
  if (disabled.length > 0) {
    return {
      ok: false,
      name: 'rules',
      detail: `disabled ${disabled.join(', ')}`,
      fix: disabled.map((name) => `aws events enable-rule --name ${name}`).join(' && '),
    };
  }
  return { ok: true, name: 'rules', detail: `${expected.length} rules present and enabled (${expected.join(', ')})` };
}

interface Deployed {
  functionName: string;
  arn?: string;
  role?: string;
  env: Record<string, string>;
  missing?: string;
}

async function functionConfiguration(lambda: LambdaClient, stage: string, fn: MeshgateFunction): Promise<Deployed> {
  const functionName = `meshgate-${stage}-${fn}`;
  try {
    const found = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    return { functionName, arn: found.FunctionArn, role: found.Role, env: found.Environment?.Variables ?? {} };
  } catch (error) {
    return { functionName, env: {}, missing: errorMessage(error) };
  }
}

/** Simulates each call the function makes with its role (grouped by resource: the simulator crosses actions and resources). */
async function checkRole(iam: IAMClient, fn: MeshgateFunction, deployed: Deployed, stage: string): Promise<Check> {
  const name = `role ${fn}`;
  if (deployed.missing || !deployed.arn || !deployed.role) {
    return {
      ok: false,
      name,
      detail: `${deployed.functionName} not found (${deployed.missing ?? 'no role'})`,
      fix: `npx serverless deploy --stage ${stage}`,
    };
  }
  const [, partition = 'aws', , region = '', account = ''] = deployed.arn.split(':');
  const calls = callsOf(fn, {
    partition,
    region,
    account,
    stage,
    functionName: deployed.functionName,
    env: deployed.env,
  });
  const byResource = new Map<string, AwsCall[]>();
  for (const call of calls) byResource.set(call.resource, [...(byResource.get(call.resource) ?? []), call]);
  const denied: string[] = [];
  for (const [resource, group] of byResource) {
    const { EvaluationResults = [] } = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: deployed.role,
        ActionNames: group.map((call) => call.action),
        ...(resource === '*' ? {} : { ResourceArns: [resource] }),
      }),
    );
    for (const result of EvaluationResults) {
      if (result.EvalDecision !== 'allowed') {
        denied.push(`${result.EvalActionName} on ${result.EvalResourceName} (${result.EvalDecision})`);
      }
    }
  }
  const roleName = deployed.role.split('/').at(-1);
  if (denied.length > 0) {
    return {
      ok: false,
      name,
      detail: `${roleName} cannot make ${denied.length} of its ${calls.length} calls: ${denied.join('; ')}`,
      fix: `grant them in serverless.yml (${fn.charAt(0).toUpperCase()}${fn.slice(1)}Role) and npx serverless deploy --stage ${stage}`,
    };
  }
  return { ok: true, name, detail: `${roleName} can make each of its ${calls.length} calls` };
}

/** The token's secret exists and has a current version (its value is not read here; the roles' check covers that). */
async function checkAdminToken(secretsManager: SecretsManagerCalls, meshSync: Deployed | undefined): Promise<Check> {
  const name = 'admin token';
  const arn = meshSync?.env.KONG_ADMIN_TOKEN_SECRET_ARN;
  if (!arn) {
    return {
      ok: true,
      name,
      detail: 'none configured (KONG_ADMIN_TOKEN_SECRET_ARN is empty: the Admin API takes no token)',
    };
  }
  try {
    const secret = await secretsManager.describeSecret({ SecretId: arn });
    const current = Object.values(secret.VersionIdsToStages ?? {}).some((stages) => stages.includes('AWSCURRENT'));
    if (!current) {
      return {
        ok: false,
        name,
        detail: `${secret.Name} has no AWSCURRENT version`,
        fix: `aws secretsmanager put-secret-value --secret-id ${secret.Name} --secret-string "$KONG_ADMIN_TOKEN"`,
      };
    }
    return { ok: true, name, detail: `${secret.Name} has a current version, readable by the functions' roles (above)` };
  } catch (error) {
    return {
      ok: false,
      name,
      detail: `${arn}: ${errorMessage(error)}`,
      fix: 'aws secretsmanager create-secret --name meshgate/kong-admin-token --secret-string "$KONG_ADMIN_TOKEN"',
    };
  }
}

async function checkAdminApi(options: DoctorOptions): Promise<Check> {
  const name = 'Admin API';
  const where = options.remote ? 'from the rollback function' : 'from here (--remote: from the function)';
  try {
    const ping = await options.ping();
    return {
      ok: true,
      name,
      detail: `${ping.adminUrl} reachable ${where}: Kong ${ping.version}, database ${ping.database}`,
    };
  } catch (error) {
    return {
      ok: false,
      name,
      detail: `not reachable ${where}: ${errorMessage(error)}`,
      fix: options.remote
        ? 'check kongAdminUrl, the VPC params (subnetIds, securityGroupIds: the group must reach the Admin API) and the admin token'
        : 'check KONG_ADMIN_URL and the admin token here, or run doctor --remote when the Admin API is private',
    };
  }
}
