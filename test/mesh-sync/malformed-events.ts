import { readFileSync } from 'node:fs';
import fc from 'fast-check';

/**
 * Events meshSync must drop, generated deterministically (fixed seeds) in families, each event labelled with its
 * family so a failure names what kind of input broke the handler.
 */

export interface MalformedEvent {
  family: string;
  event: unknown;
}

const SAMPLE_FILES = [
  'appmesh-create-gateway-route.json',
  'appmesh-create-virtual-gateway.json',
  'appmesh-delete-gateway-route.json',
  'appmesh-tag-resource.json',
  'cloudmap-register-instance.json',
  'cloudmap-deregister-instance.json',
  'schedule-drift-repair.json',
] as const;

const SAMPLES: Record<string, unknown>[] = SAMPLE_FILES.map(
  (file) =>
    JSON.parse(readFileSync(new URL(`../../events/${file}`, import.meta.url), 'utf8')) as Record<string, unknown>,
);
const CLOUDTRAIL_SAMPLES = SAMPLES.filter((sample) => sample['detail-type'] === 'AWS API Call via CloudTrail');

/** Paths whose absence makes any sample invalid (EventBridge envelope, CloudTrail members meshSync routes on). */
const REQUIRED_PATHS = [
  ['version'],
  ['id'],
  ['source'],
  ['account'],
  ['time'],
  ['region'],
  ['resources'],
  ['detail-type'],
  ['detail'],
  ['detail', 'eventSource'],
  ['detail', 'eventName'],
];

const HUGE = 200 * 1024;

const clone = <T>(value: T): T => structuredClone(value);

function withPath(event: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = clone(event);
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = path.at(-1) as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

const pick = <T>(items: readonly T[]) => fc.constantFrom(...items);
const sample = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number, seed: number) =>
  fc.sample(arbitrary, { numRuns, seed });

/** A value that is not a string: wrong for every field meshSync reads. */
const notAString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
);

const families: Record<string, () => unknown[]> = {
  'random JSON': () => sample(fc.jsonValue(), 200, 1),
  'non-objects': () => [
    null,
    [],
    [SAMPLES[0]],
    SAMPLES,
    0,
    42,
    -1,
    true,
    false,
    '',
    'sync',
    JSON.stringify(SAMPLES[0]),
    ...sample(fc.array(fc.jsonValue(), { maxLength: 4 }), 38, 2),
  ],
  'wrong sources': () =>
    sample(
      fc.tuple(
        pick(SAMPLES),
        fc.oneof(
          pick(['aws.s3', 'aws.ec2', 'aws.secretsmanager', 'meshgate', 'AWS.APPMESH', 'aws.appmesh ', '']),
          fc.string(),
        ),
      ),
      150,
      3,
    ).map(([event, source]) => ({ ...event, source })),
  'wrong detail-types': () =>
    sample(
      fc.tuple(
        pick(SAMPLES),
        fc.oneof(
          pick(['Object Created', 'AWS Console Sign In via CloudTrail', 'aws api call via cloudtrail']),
          fc.string(),
        ),
      ),
      100,
      4,
    ).map(([event, detailType]) => ({ ...event, 'detail-type': detailType })),
  'unsupported calls': () =>
    sample(
      fc.tuple(
        pick(CLOUDTRAIL_SAMPLES),
        fc.oneof(
          pick(['DescribeMesh', 'ListMeshes', 'GetInstance', 'CreateHttpNamespace', 'DeleteNamespace', 'createmesh']),
          fc.string(),
        ),
      ),
      100,
      5,
    ).map(([event, eventName]) => withPath(event, ['detail', 'eventName'], eventName)),
  'failed calls': () =>
    sample(
      fc.tuple(
        pick(CLOUDTRAIL_SAMPLES),
        fc.oneof(
          pick(['AccessDenied', 'ConflictException', 'NotFoundException', 'ThrottlingException', 'InvalidInput']),
          fc.string({ minLength: 1 }),
        ),
      ),
      120,
      6,
    ).map(([event, errorCode]) =>
      withPath(withPath(event, ['detail', 'errorCode'], errorCode), ['detail', 'errorMessage'], 'the call failed'),
    ),
  'truncated samples': () => [
    ...SAMPLES.flatMap((event) =>
      REQUIRED_PATHS.filter(([first]) => first !== 'detail' || event['detail-type'] !== 'Scheduled Event').map((path) =>
        withPath(event, path, undefined),
      ),
    ),
    ...CLOUDTRAIL_SAMPLES.filter((event) => event.source === 'aws.servicediscovery').flatMap((event) => [
      withPath(event, ['detail', 'requestParameters'], undefined),
      withPath(event, ['detail', 'requestParameters', 'serviceId'], undefined),
      withPath(event, ['detail', 'requestParameters', 'instanceId'], undefined),
      withPath(event, ['detail', 'requestParameters', 'serviceId'], ''),
    ]),
    // The JSON text cut short: what arrives is a string, not an event.
    ...sample(fc.tuple(pick(SAMPLES), fc.nat()), 60, 7).map(([event, cut]) => {
      const text = JSON.stringify(event);
      return text.slice(0, cut % text.length);
    }),
  ],
  'wrong types for fields': () =>
    sample(
      fc.tuple(
        pick(CLOUDTRAIL_SAMPLES),
        pick([
          ['source'],
          ['detail-type'],
          ['time'],
          ['resources'],
          ['detail'],
          ['detail', 'eventSource'],
          ['detail', 'eventName'],
          ['detail', 'errorCode'],
        ]),
        notAString,
      ),
      150,
      8,
    ).map(([event, path, value]) => withPath(event, path, path[0] === 'resources' ? [value, 1] : value)),
  'wrong types in manual invokes': () => [
    ...sample(notAString, 30, 9).map((action) => ({ action })),
    ...sample(
      notAString.filter((value) => typeof value !== 'boolean'),
      20,
      10,
    ).map((dryRun) => ({
      action: 'sync',
      dryRun,
    })),
    { action: 'sync', reason: 'x'.repeat(257) },
    { action: 'rollback' },
    { action: 'SYNC' },
  ],
  'huge strings': () =>
    sample(
      fc.tuple(pick(CLOUDTRAIL_SAMPLES), fc.nat({ max: 4 }), fc.string({ minLength: 1, maxLength: 1 })),
      40,
      11,
    ).map(([event, field, char]) => {
      const huge = char.repeat(HUGE);
      const paths = [['source'], ['detail-type'], ['detail', 'eventSource'], ['detail', 'eventName'], ['time']];
      return withPath(event, paths[field] as string[], huge);
    }),
};

/** Every family's events, in a fixed order. */
export function malformedEvents(): MalformedEvent[] {
  return Object.entries(families).flatMap(([family, generate]) => generate().map((event) => ({ family, event })));
}
