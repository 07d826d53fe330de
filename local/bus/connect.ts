/**
 * Wires the local bus to the AWS double: the double's CloudTrail stream feeds `bus.publish`, every serverless.yml
 * function is registered with the double under its deployed and its short name, so `lambda:Invoke` and Secrets
 * Manager rotation (RotationLambdaARN) reach the handler through the bus's serialized `invoke`, and the functions'
 * rules are defined in the double's EventBridge as deploying would (ListRules sees them; the bus routes by them).
 * Events put on the default bus (meshgate's sync requests) reach the rules too, as CloudTrail's do: on AWS both
 * arrive on that bus.
 */
import type { AwsDouble } from '../aws/server.js';
import type { EventBridgeService } from '../aws/services/eventbridge.js';
import type { LocalBus } from './bus.js';

/** Returns a function that stops feeding CloudTrail events and default-bus events to the bus. */
export function connectAwsDouble(
  double: Pick<AwsDouble, 'onCloudTrail' | 'registerFunction'> &
    Partial<Pick<AwsDouble, 'service' | 'account' | 'region' | 'functionRoles'>>,
  bus: LocalBus,
  /** The functions' environment, as GetFunctionConfiguration reports it. */
  environment?: Record<string, string>,
): () => void {
  const events = double.service?.<EventBridgeService>('events');
  for (const spec of bus.functions) {
    const viaBus = (payload: unknown) => bus.invoke(spec.name, payload);
    const role = double.functionRoles?.[spec.name];
    double.registerFunction(spec.deployedName, viaBus, { ...(role ? { role } : {}), environment });
    double.registerFunction(spec.name, viaBus);
    if (!events || !double.account || !double.region) continue;
    for (const rule of spec.rules) {
      events.putRule(
        rule.kind === 'pattern'
          ? { Name: rule.name, EventPattern: JSON.stringify(rule.pattern) }
          : { Name: rule.name, ScheduleExpression: rule.schedule.expression },
        { account: double.account, region: double.region },
      );
    }
  }
  const stopPuts = events?.subscribe((put) => {
    if (put.bus === 'default') bus.publish(put.event);
  });
  const stopCloudTrail = double.onCloudTrail((event) => bus.publish(event));
  return () => {
    stopPuts?.();
    stopCloudTrail();
  };
}
