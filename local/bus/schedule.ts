/**
 * EventBridge schedule expressions, `rate(value unit)` and the six-field `cron(min hour day-of-month month
 * day-of-week year)` (UTC), reduced to "when does it fire next". Supports `*`, `?`, lists, ranges, steps and
 * month / weekday names; the `L`, `W` and `#` forms are refused with a clear error.
 */

export interface Schedule {
  expression: string;
  /** The first firing strictly after `after`; undefined when the expression never fires again. */
  next(after: Date): Date | undefined;
}

const RATE_UNITS_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export function parseSchedule(expression: string, label = 'schedule'): Schedule {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (rate) {
    const periodMs = Number(rate[1]) * (RATE_UNITS_MS[rate[2] ?? ''] ?? 0);
    if (periodMs <= 0) throw new Error(`${label}: ${expression} has a zero period`);
    return { expression, next: (after) => new Date(after.getTime() + periodMs) };
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (cron) return { expression, next: cronNext(cron[1]?.trim().split(/\s+/) ?? [], `${label}: ${expression}`) };
  throw new Error(`${label}: '${expression}' is neither rate(value unit) nor cron(…)`);
}

type Field = (value: number) => boolean;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
// Far enough to find any real firing; a cron that has none (e.g. Feb 31) stops here.
const SEARCH_LIMIT_STEPS = 200_000;

function cronNext(fields: string[], label: string): Schedule['next'] {
  if (fields.length !== 6)
    throw new Error(`${label}: cron needs 6 fields (min hour day-of-month month day-of-week year)`);
  const [minuteText, hourText, dayText, monthText, weekdayText, yearText] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if ((dayText === '?') === (weekdayText === '?')) {
    throw new Error(`${label}: exactly one of day-of-month and day-of-week must be '?'`);
  }
  const minute = parseField(minuteText, 0, 59, label);
  const hour = parseField(hourText, 0, 23, label);
  const day = parseField(dayText, 1, 31, label);
  const month = parseField(monthText, 1, 12, label, MONTHS);
  const weekday = parseField(weekdayText, 1, 7, label, WEEKDAYS);
  const year = parseField(yearText, 1970, 2199, label);
  const dayMatches = (t: Date) => (dayText === '?' ? weekday(t.getUTCDay() + 1) : day(t.getUTCDate()));

  return (after) => {
    let t = Math.floor(after.getTime() / 60_000) * 60_000 + 60_000;
    // Skip whole years, months, days and hours that cannot match before stepping minutes.
    for (let step = 0; step < SEARCH_LIMIT_STEPS; step += 1) {
      const at = new Date(t);
      const [y, m, d, h] = [at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), at.getUTCHours()];
      if (y > 2199) return undefined;
      if (!year(y)) t = Date.UTC(y + 1, 0, 1);
      else if (!month(m + 1)) t = Date.UTC(y, m + 1, 1);
      else if (!dayMatches(at)) t = Date.UTC(y, m, d + 1);
      else if (!hour(h)) t = Date.UTC(y, m, d, h + 1);
      else if (!minute(at.getUTCMinutes())) t += 60_000;
      else return at;
    }
    return undefined;
  };
}

/** One cron field: `*`, `?`, and comma lists of `a`, `a-b`, `a/step`, `a-b/step`, `* /step` (names allowed). */
function parseField(text: string, min: number, max: number, label: string, names: string[] = []): Field {
  if (text === '*' || text === '?') return () => true;
  const allowed = new Set<number>();
  const value = (token: string) => {
    const named = names.indexOf(token.toUpperCase());
    const number = named >= 0 ? named + 1 : Number(token);
    if (!Number.isInteger(number) || number < min || number > max) {
      throw new Error(`${label}: '${token}' in '${text}' is not in ${min}..${max} (L, W and # are not supported)`);
    }
    return number;
  };
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`${label}: step '${stepText}' in '${text}' must be >= 1`);
    const [fromText = '', toText] = range.split('-');
    const from = fromText === '*' ? min : value(fromText);
    const to = toText !== undefined ? value(toText) : stepText !== undefined || fromText === '*' ? max : from;
    for (let n = from; n <= to; n += step) allowed.add(n);
  }
  return (n) => allowed.has(n);
}
