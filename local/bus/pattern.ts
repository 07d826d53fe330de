/**
 * EventBridge event-pattern matching (content filtering), pure. Supports the operators meshgate's rules use and the
 * cheap neighbours: exact values (strings, numbers, booleans, null), `prefix`, `suffix`, `equals-ignore-case`,
 * `exists`, `anything-but` (a value, a list, or `{prefix}` / `{suffix}`), `numeric` and `$or`. Anything else
 * (`wildcard`, `cidr`, …) is rejected when the pattern is compiled, naming the operator and the key, so a rule that
 * would behave differently on AWS fails loudly instead of silently never matching.
 */

export type EventMatcher = (event: unknown) => boolean;

/** A matcher for one leaf value of the event (absent = the key is missing). */
type ValueMatcher = { matchesAbsent: boolean; matches(value: unknown): boolean };

export class PatternError extends Error {
  override name = 'PatternError';
}

/** Compiles a pattern once; `label` (e.g. the rule name) prefixes every error. Throws `PatternError` if malformed. */
export function compilePattern(pattern: unknown, label = 'event pattern'): EventMatcher {
  return compileObject(pattern, { label, path: [] });
}

/** Whether `event` matches `pattern`; throws `PatternError` on malformed patterns or unsupported operators. */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return compilePattern(pattern)(event);
}

interface Where {
  label: string;
  path: string[];
}

function fail(where: Where, message: string): never {
  const key = where.path.length > 0 ? ` at '${where.path.join('.')}'` : '';
  throw new PatternError(`${where.label}${key}: ${message}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compileObject(pattern: unknown, where: Where): EventMatcher {
  if (!isObject(pattern)) fail(where, 'a pattern must be an object');
  const fieldMatchers = Object.entries(pattern).map(([key, value]): EventMatcher => {
    const at = { ...where, path: [...where.path, key] };
    if (key === '$or') return compileOr(value, at);
    if (Array.isArray(value)) return fieldLeaf(key, compileLeaf(value, at));
    if (isObject(value)) return fieldNested(key, compileObject(value, at));
    return fail(at, `match values must be in an array, got ${JSON.stringify(value)}`);
  });
  return (event) => fieldMatchers.every((matcher) => matcher(event));
}

function compileOr(value: unknown, where: Where): EventMatcher {
  if (!Array.isArray(value) || value.length < 2) fail(where, '$or needs an array of at least two patterns');
  const alternatives = value.map((alternative, index) =>
    compileObject(alternative, { ...where, path: [...where.path, String(index)] }),
  );
  return (event) => alternatives.some((matcher) => matcher(event));
}

/** Matches a nested pattern against an object field; an array of objects matches if any element does. */
function fieldNested(key: string, matcher: EventMatcher): EventMatcher {
  return (event) => {
    if (!isObject(event)) return false;
    const value = event[key];
    return Array.isArray(value) ? value.some(matcher) : matcher(value);
  };
}

/** Matches a leaf field; an array in the event matches if any of its elements does. */
function fieldLeaf(key: string, matcher: ValueMatcher): EventMatcher {
  return (event) => {
    const value = isObject(event) ? event[key] : undefined;
    if (value === undefined) return matcher.matchesAbsent;
    return Array.isArray(value) ? value.some((element) => matcher.matches(element)) : matcher.matches(value);
  };
}

function compileLeaf(values: unknown[], where: Where): ValueMatcher {
  if (values.length === 0) fail(where, 'an empty match list never matches anything');
  const matchers = values.map((value) => compileValue(value, where));
  return {
    matchesAbsent: matchers.some((matcher) => matcher.matchesAbsent),
    matches: (value) => matchers.some((matcher) => matcher.matches(value)),
  };
}

function present(matches: (value: unknown) => boolean): ValueMatcher {
  return { matchesAbsent: false, matches };
}

function compileValue(value: unknown, where: Where): ValueMatcher {
  if (!isObject(value)) {
    if (Array.isArray(value)) fail(where, 'match lists cannot be nested');
    return present((candidate) => candidate === value);
  }
  const entries = Object.entries(value);
  const [entry] = entries;
  if (!entry || entries.length > 1)
    fail(where, `an operator object needs exactly one operator, got ${JSON.stringify(value)}`);
  const [operator, operand] = entry;
  switch (operator) {
    case 'exists':
      if (typeof operand !== 'boolean') fail(where, "'exists' takes true or false");
      return { matchesAbsent: !operand, matches: () => operand };
    case 'anything-but':
      return anythingBut(operand, where);
    case 'numeric':
      return present(numeric(operand, where));
    default:
      return present(stringOperator(operator, operand, where));
  }
}

/** `prefix`, `suffix` and `equals-ignore-case` on strings. */
function stringOperator(operator: string, operand: unknown, where: Where): (value: unknown) => boolean {
  const test = STRING_OPERATORS[operator];
  if (!test) fail(where, `unsupported operator '${operator}' (supported: ${SUPPORTED_OPERATORS})`);
  if (typeof operand !== 'string') fail(where, `'${operator}' takes a string`);
  return (value) => typeof value === 'string' && test(value, operand);
}

const STRING_OPERATORS: Record<string, (value: string, operand: string) => boolean> = {
  prefix: (value, operand) => value.startsWith(operand),
  suffix: (value, operand) => value.endsWith(operand),
  'equals-ignore-case': (value, operand) => value.toLowerCase() === operand.toLowerCase(),
};

const SUPPORTED_OPERATORS = [...Object.keys(STRING_OPERATORS), 'exists', 'anything-but', 'numeric', '$or'].join(', ');

/** `anything-but`: a value, a list of values, or `{prefix}` / `{suffix}`; never matches a missing field. */
function anythingBut(operand: unknown, where: Where): ValueMatcher {
  const at = { ...where, label: `${where.label} (anything-but)` };
  if (isObject(operand)) {
    const [entry, ...more] = Object.entries(operand);
    if (!entry || more.length > 0 || (entry[0] !== 'prefix' && entry[0] !== 'suffix')) {
      fail(at, "'anything-but' takes a value, a list, or one of {prefix} / {suffix}");
    }
    const excluded = stringOperator(entry[0], entry[1], at);
    return present((value) => typeof value === 'string' && !excluded(value));
  }
  const excluded = Array.isArray(operand) ? operand : [operand];
  if (excluded.some((value) => typeof value === 'object' && value !== null)) {
    fail(at, "'anything-but' lists hold plain values only");
  }
  return present((value) => !excluded.includes(value));
}

const NUMERIC_COMPARISONS: Record<string, (value: number, bound: number) => boolean> = {
  '=': (value, bound) => value === bound,
  '<': (value, bound) => value < bound,
  '<=': (value, bound) => value <= bound,
  '>': (value, bound) => value > bound,
  '>=': (value, bound) => value >= bound,
};

/** `numeric`: `["=", 5]`, `[">", 0, "<=", 10]`, …; every comparison must hold. */
function numeric(operand: unknown, where: Where): (value: unknown) => boolean {
  if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0) {
    fail(where, '\'numeric\' takes pairs of comparison and number, e.g. [">", 0, "<=", 5]');
  }
  const checks: Array<(value: number) => boolean> = [];
  for (let index = 0; index < operand.length; index += 2) {
    const comparison = NUMERIC_COMPARISONS[String(operand[index])];
    const bound = operand[index + 1];
    if (!comparison || typeof bound !== 'number') {
      fail(where, `'numeric' cannot compare with ${JSON.stringify(operand[index])} ${JSON.stringify(bound)}`);
    }
    checks.push((value) => comparison(value, bound));
  }
  return (value) => typeof value === 'number' && checks.every((check) => check(value));
}
