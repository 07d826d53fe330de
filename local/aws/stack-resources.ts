/**
 * What CloudFormation would create from serverless.yml's resources that the AWS double serves: the audit trail's
 * log groups (with retention), their resource policies, the bus archives and the bus rules with targets. Created
 * through the AWS SDK against the double, as the operator, so the local stack and a test get the same trail a
 * deployed stack has, read from the same file. Resources whose Condition does not hold are skipped, as AWS does.
 */
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutResourcePolicyCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateArchiveCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { type RoleOptions, stackTemplate } from './iam/roles.js';

export interface CreatedResources {
  logGroups: string[];
  archives: string[];
  rules: string[];
}

type Props = Record<string, unknown>;

/** Creates the stack's log groups, resource policies, archives and rules on the double at `endpoint`. */
export async function createStackResources(
  endpoint: string,
  options: RoleOptions & { stage: string; account: string; region: string },
): Promise<CreatedResources> {
  const template = stackTemplate(options);
  const client = {
    region: options.region,
    endpoint,
    credentials: { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' },
  };
  const logs = new CloudWatchLogsClient(client);
  const events = new EventBridgeClient(client);
  const created: CreatedResources = { logGroups: [], archives: [], rules: [] };
  const of = (type: string) =>
    Object.values(template.resources)
      .filter((resource) => resource.Type === type && template.created(resource))
      .map((resource) => template.resolve(resource.Properties ?? {}) as Props);
  try {
    // In dependency order: a rule's target group and its policy first (AuditToLogs DependsOn the policy).
    for (const group of of('AWS::Logs::LogGroup')) {
      const logGroupName = String(group.LogGroupName);
      await logs.send(new CreateLogGroupCommand({ logGroupName }));
      if (group.RetentionInDays !== undefined) {
        await logs.send(
          new PutRetentionPolicyCommand({ logGroupName, retentionInDays: Number(group.RetentionInDays) }),
        );
      }
      created.logGroups.push(logGroupName);
    }
    for (const policy of of('AWS::Logs::ResourcePolicy')) {
      await logs.send(
        new PutResourcePolicyCommand({
          policyName: String(policy.PolicyName),
          policyDocument: String(policy.PolicyDocument),
        }),
      );
    }
    for (const archive of of('AWS::Events::Archive')) {
      await events.send(
        new CreateArchiveCommand({
          ArchiveName: String(archive.ArchiveName),
          EventSourceArn: String(archive.SourceArn),
          RetentionDays: Number(archive.RetentionDays ?? 0),
          ...(archive.EventPattern ? { EventPattern: JSON.stringify(archive.EventPattern) } : {}),
        }),
      );
      created.archives.push(String(archive.ArchiveName));
    }
    for (const rule of of('AWS::Events::Rule')) {
      const name = String(rule.Name);
      const EventBusName = rule.EventBusName === undefined ? undefined : String(rule.EventBusName);
      await events.send(
        new PutRuleCommand({
          Name: name,
          EventBusName,
          EventPattern: JSON.stringify(rule.EventPattern),
          State: rule.State === 'DISABLED' ? 'DISABLED' : 'ENABLED',
        }),
      );
      const targets = (rule.Targets ?? []) as { Id: string; Arn: string }[];
      if (targets.length) {
        await events.send(
          new PutTargetsCommand({ Rule: name, EventBusName, Targets: targets.map(({ Id, Arn }) => ({ Id, Arn })) }),
        );
      }
      created.rules.push(name);
    }
  } finally {
    logs.destroy();
    events.destroy();
  }
  return created;
}
