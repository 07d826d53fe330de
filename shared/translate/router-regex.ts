/**
 * Route regexes as Kong 3.x's router sees them. Kong's router (ATC; also behind the `traditional_compatible`
 * flavor, the default) compiles path and header regexes with Rust's `regex` crate, which guarantees linear-time
 * matching and so has no look-around, no back-references, no atomic groups or possessive quantifiers, no recursion
 * or conditionals, and none of PCRE's `\Z \G \K \R \X \h` escapes. JavaScript accepts most of these; Kong refuses
 * the route, and one refused route would fail the whole apply. Pure.
 *
 * Returns why Kong would refuse `regex`, or undefined when it would compile it.
 */
export function routerRegexProblem(regex: string): string | undefined {
  let inClass = 0;
  for (let i = 0; i < regex.length; i += 1) {
    const char = regex[i];
    if (char === '\\') {
      const next = regex[i + 1];
      if (next === undefined) return 'it ends with a lone backslash';
      if (/[0-9]/.test(next)) return `back-references and octal escapes (\\${next}) are not supported`;
      if (next === 'k' || next === 'g') return `named back-references and subroutines (\\${next}) are not supported`;
      if ('ZGKRXhHNCQEeLl'.includes(next)) {
        return `the escape \\${next} is not supported`;
      }
      i += 1;
      continue;
    }
    if (char === '[') {
      inClass += 1;
      // A `]` right after `[` or `[^` is a literal.
      if (regex[i + 1] === '^') i += 1;
      if (regex[i + 1] === ']') i += 1;
      continue;
    }
    if (char === ']' && inClass > 0) {
      inClass -= 1;
      continue;
    }
    if (inClass > 0) continue;
    if (char === '(' && regex[i + 1] === '?') {
      const rest = regex.slice(i + 2);
      if (rest.startsWith('=') || rest.startsWith('!')) return 'look-ahead ((?= and (?!) is not supported';
      if (rest.startsWith('<=') || rest.startsWith('<!')) return 'look-behind ((?<= and (?<!) is not supported';
      if (rest.startsWith('>')) return 'atomic groups ((?>) are not supported';
      if (rest.startsWith('|')) return 'branch reset groups ((?|) are not supported';
      if (rest.startsWith('#')) return 'comment groups ((?#) are not supported';
      if (rest.startsWith('(')) return 'conditionals ((?() are not supported';
      if (/^(?:R|[+-]?\d|&|P>|P=)/.test(rest)) return 'recursion and subroutine calls are not supported';
      if (rest.startsWith("'")) return "named groups in (?'name') form are not supported; use (?P<name>)";
      if (rest.startsWith('C')) return 'callouts ((?C) are not supported';
    }
    if ('*+?}'.includes(char ?? '') && regex[i + 1] === '+') {
      return `possessive quantifiers (${char}+) are not supported`;
    }
  }
  return javascriptSyntaxProblem(regex);
}

/**
 * What the scan above does not cover (unbalanced groups, bad ranges, quantifiers on nothing) JavaScript's parser
 * catches, once Rust's own syntax is rewritten into JavaScript's: inline flags `(?i)` / `(?i:…)` and `(?P<name>…)`.
 */
function javascriptSyntaxProblem(regex: string): string | undefined {
  const asJavascript = regex
    .replace(/\(\?[imsxRU-]+\)/g, '')
    .replace(/\(\?[imsxRU-]+:/g, '(?:')
    .replace(/\(\?P</g, '(?<')
    .replace(/\\[Az]/g, '');
  try {
    new RegExp(asJavascript);
    return undefined;
  } catch (error) {
    return `it does not compile (${error instanceof Error ? error.message : String(error)})`;
  }
}
