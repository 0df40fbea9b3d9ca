/**
 * Shell-style quoting of one argument when it has spaces or shell metacharacters; control
 * characters (a newline in `python -c '...'`) use $'...' so one command stays on one line.
 */
export function quoteArg(a: string): string {
  if (a === '') return "''";
  if (/^[\w@%+=:,./[\]-]+$/.test(a)) return a;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(a)) {
    const body = a
      .replace(/[\\']/g, '\\$&')
      // eslint-disable-next-line no-control-regex
      .replace(/[\x00-\x1f\x7f]/g, (c) =>
        c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
      );
    return `$'${body}'`;
  }
  return `'${a.replace(/'/g, `'\\''`)}'`;
}

/** argv as a person would type it back; `[comm]` when only the kernel's name is known. */
export function commandLine(argv: readonly string[] | null | undefined, comm: string | null | undefined): string | null {
  if (argv && argv.length > 0) return argv.map(quoteArg).join(' ');
  return comm ? `[${comm}]` : null;
}
