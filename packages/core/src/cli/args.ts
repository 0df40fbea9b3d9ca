/** Command-line parsing shared by every lockscope command (holders/locks, watch, report). */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<T extends Options> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: T }>>;

/** A usage problem: the command prints it with its help and exits 2 (EXIT.usage). */
export class UsageError extends Error {}

/** `argv` parsed against `options`, positionals allowed; node's own complaints are thrown as `Err`. */
export function parseCommandLine<T extends Options>(
  argv: string[],
  options: T,
  Err: new (message: string) => Error = UsageError,
): Parsed<T> {
  try {
    return parseArgs<{ args: string[]; allowPositionals: true; options: T }>({ args: argv, allowPositionals: true, options });
  } catch (e) {
    throw new Err((e as Error).message);
  }
}

/** Prints a usage problem with the command's help; returns the usage exit code. */
export function usageExit(err: (s: string) => void, prefix: string, message: string, help: string): number {
  err(`${prefix}: ${message}\n\n${help}`);
  return 2;
}
