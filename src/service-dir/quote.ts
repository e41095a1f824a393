// Quoting for the generated shell scripts and systemd unit. Paths normally
// need none, and then the output is exactly dnscache-conf's; anything else
// (a space, a quote, a dollar sign) is quoted so that it stays one word.

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** `text` as one POSIX sh word: unchanged if it is plain, else in single quotes. */
export function shellWord(text: string): string {
  if (SHELL_SAFE.test(text)) return text;
  return singleQuoted(text);
}

/** `text` in single quotes, a `'` inside written as `'\''`. */
export function singleQuoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

const SYSTEMD_SAFE = /^[A-Za-z0-9_@+=:,./-]+$/;

/**
 * A path as one word of a systemd command line (ExecStart=): plain, or in
 * double quotes with `\` and `"` escaped. `%` (specifiers) and `$`
 * (variable expansion) are doubled so systemd passes them through literally.
 */
export function systemdWord(text: string): string {
  const escaped = text.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (SYSTEMD_SAFE.test(text)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A path as the value of a systemd path setting (WorkingDirectory=): specifiers escaped, no quotes. */
export function systemdPath(text: string): string {
  return text.replace(/%/g, '%%');
}
