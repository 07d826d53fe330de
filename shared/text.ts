/**
 * Text that came from outside (tags, attribute values, manual-sync reasons, URLs from the environment) on its way
 * into something meshgate prints or records. Pure.
 */

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides that reorder a terminal line.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Escapes control characters (`\u001b` → `\x1b`), so a value cannot move the cursor, clear a screen or forge a line. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** At most `max` characters (with an ellipsis and the count dropped), control characters escaped. */
export function shorten(text: string, max = 300): string {
  const escaped = escapeControl(text);
  if (escaped.length <= max) return escaped;
  return `${escaped.slice(0, max)}… (${escaped.length - max} more characters)`;
}

/** A URL with any userinfo (`https://user:pass@host`) replaced, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1[redacted]@');
}
