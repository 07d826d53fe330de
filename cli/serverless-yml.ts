/**
 * What serverless.yml declares: the functions, their settings and their EventBridge rules and schedules under their
 * deployed names. The CLI (`doctor` checks the rules are deployed) and the local bus (which routes events as the
 * deployed rules do) both read it from here. Only what they act on is read; event options neither can reproduce
 * (input transformers, custom buses) are refused rather than silently ignored.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse, type Tags } from 'yaml';
import { z } from 'zod';

/** A rule as declared: an event pattern, or one schedule expression (`rate(…)`, `cron(…)`). */
export type DeclaredRule =
  | { kind: 'pattern'; name: string; pattern: Record<string, unknown> }
  | { kind: 'schedule'; name: string; expression: string };

export interface DeclaredFunction<Rule = DeclaredRule> {
  /** Short name, the key under `functions:` (e.g. `meshSync`). */
  name: string;
  /** Deployed name, `<service>-<stage>-<name>`. */
  deployedName: string;
  /** Directory of serverless.yml; `handlerPath` is relative to it. */
  serviceDir: string;
  /** TypeScript module of the handler, e.g. `functions/mesh-sync/handler.ts`. */
  handlerPath: string;
  exportName: string;
  timeoutSeconds: number;
  memorySizeMB: number;
  reservedConcurrency?: number;
  /** Lambda async-invoke retries after the first attempt (0..2, default 2). */
  maximumRetryAttempts: number;
  /** Where failed async events go (`destinations.onFailure`), described; absent = they are dropped, as on AWS. */
  onFailure?: string;
  rules: Rule[];
}

export interface ReadOptions {
  /** Value of `${sls:stage}` (default `local`). */
  stage?: string;
}

// Serverless defaults when neither the function nor the provider sets a value.
const DEFAULT_TIMEOUT_SECONDS = 6;
const DEFAULT_MEMORY_MB = 1024;
const DEFAULT_RETRY_ATTEMPTS = 2;

const scheduleEvent = z.union([
  z.string(),
  z
    .object({
      rate: z.union([z.string(), z.array(z.string()).min(1)]),
      name: z.string().optional(),
      description: z.string().optional(),
    })
    .strict(),
]);

const eventBridgeEvent = z
  .object({
    pattern: z.record(z.string(), z.unknown()),
    name: z.string().optional(),
    description: z.string().optional(),
  })
  .strict();

const destinationSchema = z.union([z.string(), z.object({ type: z.string().optional(), arn: z.unknown() })]);

const functionSchema = z.object({
  handler: z.string().regex(/^[^.]+(\.[^.]+)*\.[A-Za-z_$][\w$]*$/, 'must look like path/to/module.exportName'),
  timeout: z.number().int().positive().optional(),
  memorySize: z.number().int().positive().optional(),
  // A number, or a `${param:name, fallback}` (an optional reservation, off unless the param is set).
  reservedConcurrency: z.union([z.number().int().min(0), z.string()]).optional(),
  maximumRetryAttempts: z.number().int().min(0).max(2).optional(),
  destinations: z.object({ onFailure: destinationSchema.optional() }).optional(),
  events: z
    .array(
      z.union([z.object({ eventBridge: eventBridgeEvent }).strict(), z.object({ schedule: scheduleEvent }).strict()]),
    )
    .optional(),
});

const serviceSchema = z.object({
  service: z.string(),
  params: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  provider: z
    .object({ timeout: z.number().int().positive().optional(), memorySize: z.number().int().positive().optional() })
    .optional(),
  functions: z.record(z.string(), functionSchema),
});

/** serverless.yml as a plain document; CloudFormation tags (`!Sub`, `!Ref`, ...) become `{ "Fn::Sub": ... }` objects. */
export function readServerlessYml(path = 'serverless.yml'): unknown {
  return parse(readFileSync(path, 'utf8'), { customTags: cloudFormationTags });
}

/** The NODE_OPTIONS every function runs with (`provider.environment.NODE_OPTIONS`), empty when none is set. */
export function declaredNodeOptions(path = 'serverless.yml'): string {
  const declared = readServerlessYml(path) as { provider?: { environment?: { NODE_OPTIONS?: unknown } } };
  const options = declared.provider?.environment?.NODE_OPTIONS;
  return typeof options === 'string' ? options : '';
}

/** Reads the functions serverless.yml declares for a stage. Throws naming the file and the offending key. */
export function readServerlessFunctions(path = 'serverless.yml', options: ReadOptions = {}): DeclaredFunction[] {
  const stage = options.stage ?? 'local';
  const raw = readServerlessYml(path);
  const parsed = serviceSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${path}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const service = parsed.data;
  // Serverless variables that rule names use; others are left as written.
  const variables: Record<string, string> = { 'sls:stage': stage, 'self:service': service.service };
  const substitute = (text: string) =>
    text.replace(/\$\{([\w:]+)\}/g, (whole, name: string) => variables[name] ?? whole);
  const serviceDir = dirname(resolve(path));

  return Object.entries(service.functions).map(([name, fn]) => {
    const deployedName = `${service.service}-${stage}-${name}`;
    const split = fn.handler.lastIndexOf('.');
    let patternCount = 0;
    let scheduleCount = 0;
    const rules = (fn.events ?? []).flatMap((event): DeclaredRule[] => {
      if ('eventBridge' in event) {
        const ruleName = substitute(event.eventBridge.name ?? `${deployedName}-rule-${++patternCount}`);
        // `${sls:stage}` in a pattern value (meshSync's sync requests match their stage) resolves as in a name.
        const pattern = substituteStrings(event.eventBridge.pattern, substitute) as Record<string, unknown>;
        return [{ kind: 'pattern', name: ruleName, pattern }];
      }
      const schedule = typeof event.schedule === 'string' ? { rate: event.schedule } : event.schedule;
      const expressions = Array.isArray(schedule.rate) ? schedule.rate : [schedule.rate];
      return expressions.map((expression, index) => {
        scheduleCount += 1;
        const base = schedule.name ? substitute(schedule.name) : `${deployedName}-schedule-${scheduleCount}`;
        const ruleName = expressions.length > 1 && schedule.name ? `${base}-${index + 1}` : base;
        return { kind: 'schedule' as const, name: ruleName, expression };
      });
    });
    const reservedConcurrency = resolveConcurrency(fn.reservedConcurrency, {
      ...service.params?.default,
      ...service.params?.[stage],
    });
    return {
      name,
      deployedName,
      serviceDir,
      handlerPath: `${fn.handler.slice(0, split)}.ts`,
      exportName: fn.handler.slice(split + 1),
      timeoutSeconds: fn.timeout ?? service.provider?.timeout ?? DEFAULT_TIMEOUT_SECONDS,
      memorySizeMB: fn.memorySize ?? service.provider?.memorySize ?? DEFAULT_MEMORY_MB,
      ...(reservedConcurrency === undefined ? {} : { reservedConcurrency }),
      maximumRetryAttempts: fn.maximumRetryAttempts ?? DEFAULT_RETRY_ATTEMPTS,
      ...(fn.destinations?.onFailure === undefined
        ? {}
        : { onFailure: describeDestination(fn.destinations.onFailure) }),
      rules,
    };
  });
}

/** `${param:name, fallback}` → the stage's param, else the fallback; `null` or unset = no reservation. */
function resolveConcurrency(value: number | string | undefined, params: Record<string, unknown>): number | undefined {
  if (typeof value !== 'string') return value;
  const reference = /^\$\{param:(\w+)(?:,\s*([^}]*))?\}$/.exec(value);
  if (!reference?.[1]) throw new Error(`reservedConcurrency: expected a number or \${param:…}, got '${value}'`);
  const raw = String(params[reference[1]] ?? reference[2] ?? 'null').trim();
  if (raw === 'null' || raw === '') return undefined;
  const number = Number(raw);
  if (!Number.isInteger(number) || number < 0) throw new Error(`reservedConcurrency: '${raw}' is not a whole number`);
  return number;
}

/** `{type: sqs, arn: !GetAtt DeadLetterQueue.Arn}` → `sqs:DeadLetterQueue`; a plain ARN stays as it is. */
function describeDestination(destination: z.infer<typeof destinationSchema>): string {
  if (typeof destination === 'string') return destination;
  const target = typeof destination.arn === 'string' ? destination.arn : logicalIdOf(destination.arn);
  return destination.type ? `${destination.type}:${target}` : target;
}

/** The resource a `Ref` / `Fn::GetAtt` names, e.g. `DeadLetterQueue`. */
function logicalIdOf(reference: unknown): string {
  const { Ref: ref, 'Fn::GetAtt': getAtt } = (reference ?? {}) as { Ref?: unknown; 'Fn::GetAtt'?: unknown };
  const id = ref ?? (Array.isArray(getAtt) ? getAtt[0] : String(getAtt ?? '').split('.')[0]);
  return typeof id === 'string' && id !== '' ? id : JSON.stringify(reference);
}

const INTRINSICS = ['Ref', 'Sub', 'GetAtt', 'Join', 'Select', 'Split', 'If', 'Equals', 'Not', 'And', 'Or'];
const INTRINSIC_FORMS = ['scalar', 'seq', 'map'] as const;

/** CloudFormation short-form tags (`!Sub …`, `!GetAtt A.B`) read as their long form, `{ 'Fn::Sub': … }`. */
const cloudFormationTags: Tags = INTRINSICS.flatMap((intrinsic) => {
  const key = intrinsic === 'Ref' ? 'Ref' : `Fn::${intrinsic}`;
  return INTRINSIC_FORMS.map((form) =>
    form === 'scalar'
      ? { tag: `!${intrinsic}`, resolve: (value: string) => ({ [key]: value }) }
      : {
          tag: `!${intrinsic}`,
          collection: form,
          resolve: (node: { toJSON(): unknown }) => ({ [key]: node.toJSON() }),
        },
  );
});

/** `value` with `substitute` applied to every string in it (arrays and objects walked). */
function substituteStrings(value: unknown, substitute: (text: string) => string): unknown {
  if (typeof value === 'string') return substitute(value);
  if (Array.isArray(value)) return value.map((item) => substituteStrings(item, substitute));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteStrings(item, substitute)]));
  return value;
}
