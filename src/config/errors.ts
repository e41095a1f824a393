// The one error type of configuration loading. Its message always names the
// variable (or the file and line), the offending value and what was expected,
// so the caller can print it as is and exit.

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** How much of a value an error message shows. */
const MAX_QUOTED = 80;

/**
 * Quotes a value for an error message: whitespace, control and non-ASCII
 * characters escaped (a terminal or log shows them as they are), and a long
 * value cut, saying how long it was.
 */
export function quote(value: string): string {
  const shown = value.length > MAX_QUOTED ? value.slice(0, MAX_QUOTED) : value;
  const escaped = JSON.stringify(shown).replace(
    /[^\x20-\x7e]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
  return value.length > MAX_QUOTED ? `${escaped}... (${value.length} characters)` : escaped;
}
