/**
 * The functions serverless.yml declares, with their rules compiled for the local bus (event patterns into matchers,
 * schedule expressions into schedules), so local routing is the deployed routing.
 */
import { type DeclaredFunction, type ReadOptions, readServerlessFunctions } from '../../cli/serverless-yml.js';
import { compilePattern, type EventMatcher } from './pattern.js';
import { parseSchedule, type Schedule } from './schedule.js';

export type RuleSpec =
  | { kind: 'pattern'; name: string; pattern: Record<string, unknown>; matches: EventMatcher }
  | { kind: 'schedule'; name: string; schedule: Schedule };

export type FunctionSpec = DeclaredFunction<RuleSpec>;

/** Reads serverless.yml into the specs the local bus runs. Throws naming the file, the key or the rule. */
export function loadServerlessFunctions(path = 'serverless.yml', options: ReadOptions = {}): FunctionSpec[] {
  return readServerlessFunctions(path, options).map((fn) => ({
    ...fn,
    rules: fn.rules.map(
      (rule): RuleSpec =>
        rule.kind === 'pattern'
          ? { ...rule, matches: compilePattern(rule.pattern, `rule ${rule.name}`) }
          : { kind: 'schedule', name: rule.name, schedule: parseSchedule(rule.expression, `rule ${rule.name}`) },
    ),
  }));
}
