// The one error type of configuration loading. Its message always names the
// variable (or the file and line), the offending value and what was expected,
// so the caller can print it as is and exit.

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Quotes a value for an error message (visible whitespace and control characters). */
export function quote(value: string): string {
  return JSON.stringify(value);
}
