/**
 * The one path validator of lock() and probe(): the same input names the same file, with the same
 * messages (errors of the caller's class). Relative paths are joined to the cwd as the kernel
 * would walk them, not normalised: '..' after a symlink must mean what open() says.
 */
import { win32 } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LockscopeError } from './errors/classes.js';
import type { ErrorFactories } from './errors/factories.js';

const WINDOWS = process.platform === 'win32';

/** An absolute path from a string or file: URL; throws `errors.invalidArgument` otherwise. */
export function checkPath(api: string, path: unknown, errors: ErrorFactories<LockscopeError>): string {
  let p: string;
  if (typeof path === 'string') p = path;
  else if (path instanceof URL) {
    try {
      p = fileURLToPath(path);
    } catch (err) {
      throw errors.invalidArgument(api, String(path), `path URL must be a file: URL (${(err as Error).message})`);
    }
  } else throw errors.invalidArgument(api, undefined, `path must be a string or a file: URL, got ${show(path)}`);
  if (p.length === 0) throw errors.invalidArgument(api, p, 'path must not be empty');
  if (p.includes('\0')) throw errors.invalidArgument(api, p.replace(/\0/g, '\\0'), 'path must not contain NUL bytes');
  if (WINDOWS) return win32.resolve(p); // drive letters, UNC paths, backslashes
  if (p.charCodeAt(0) === 47 /* / */) return p;
  // Plain concatenation, not path.resolve: '..' after a symlink must mean what the kernel says.
  const cwd = process.cwd();
  return cwd === '/' ? `/${p}` : `${cwd}/${p}`;
}

/** A value as a validation message shows it. */
export function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return typeof v;
}
