import { describe, expect, it } from 'vitest';
import { routerRegexProblem } from '../../shared/translate/router-regex.js';

// Each of these compiles in JavaScript; Kong 3.x's router (Rust `regex`) refuses it.
const REFUSED = [
  ['/a(?=b)', 'look-ahead'],
  ['/a(?!b)', 'look-ahead'],
  ['/(?<=a)b', 'look-behind'],
  ['/(?<!a)b', 'look-behind'],
  ['/(a)\\1', 'back-references'],
  ['/(?<n>a)\\k<n>', 'named back-references'],
  ['/(?>a+)b', 'atomic groups'],
  ['/a++', 'possessive'],
  ['/a{2}+', 'possessive'],
  ['/a\\Z', '\\Z'],
  ['/a\\G', '\\G'],
  ['/a(?#comment)', 'comment'],
  ['/(a|(?R))', 'recursion'],
  ["/(?'n'a)", 'named groups'],
  ['/orders/(', 'does not compile'],
  ['/a\\', 'lone backslash'],
] as const;

// Rust regex syntax Kong accepts, some of which JavaScript itself would not parse as is.
const ACCEPTED = [
  '/orders/[0-9]+',
  '/(?i)orders',
  '/(?i:orders)/x',
  '/(?P<id>[0-9]+)',
  '/(?<id>[0-9]+)',
  '\\A/orders\\z',
  '/[(?=]x',
  '/[\\]a]+',
  '/a{2,3}?',
  '/\\x{41}\\u0041',
];

describe("route regexes as Kong's router sees them", () => {
  it.each(REFUSED)('refuses %s (%s)', (regex, why) => {
    expect(routerRegexProblem(regex)).toContain(why);
  });

  it.each(ACCEPTED)('accepts %s', (regex) => {
    expect(routerRegexProblem(regex)).toBeUndefined();
  });
});
