/**
 * Wires the local bus to the AWS double: the double's CloudTrail stream feeds `bus.publish`, and every
 * serverless.yml function is registered with the double under its deployed and its short name, so `lambda:Invoke`
 * and Secrets Manager rotation (RotationLambdaARN) reach the handler through the bus's serialized `invoke`.
 */
import type { AwsDouble } from '../aws/server.js';
import type { LocalBus } from './bus.js';

/** Returns a function that stops feeding CloudTrail events to the bus. */
export function connectAwsDouble(
  double: Pick<AwsDouble, 'onCloudTrail' | 'registerFunction'>,
  bus: LocalBus,
): () => void {
  for (const spec of bus.functions) {
    const viaBus = (payload: unknown) => bus.invoke(spec.name, payload);
    double.registerFunction(spec.deployedName, viaBus);
    double.registerFunction(spec.name, viaBus);
  }
  return double.onCloudTrail((event) => bus.publish(event));
}
