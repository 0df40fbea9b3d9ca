#!/usr/bin/env node
/** The `lockscope` command: `holders <path>` and `locks`. Exit codes are documented in docs/cli.md. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LockscopeError } from '../errors.js';
import { listLocks, probe } from '../probe/index.js';
import type { ProbeDepth, ProbeOptions } from '../probe/types.js';
import { formatHolders, formatLocks } from './format.js';
import { runWatch } from './watch.js';

const EXIT = { found: 0, nothingFound: 1, usage: 2, partial: 3, error: 4 } as const;

const HELP = `Usage:
  lockscope holders <path> [options]   who holds a lock on <path>, and who has it open
  lockscope locks [options]            every lock on this host, with its holders and file

Options:
  --json               machine-readable output (the probe result as JSON)
  --depth <d>          holders: cheap route, lock holders only (default for 'locks')
                       full: scan every process for holders, openers and maps (default for 'holders')
  --timeout <ms>       time budget; on expiry print what was found, marked partial
  --no-maps            do not read memory maps (holders --depth full)
  --no-redact          show command lines as they are (default hides secret-looking values)
  --strict             exit 3 whenever visibility was partial, even if something was found
  -h, --help           this help
  -v, --version        version

Exit codes:
  0  found: a lock or an opener (holders), at least one lock (locks)
  1  nothing found, and every process could be inspected
  2  usage error
  3  nothing found but some processes could not be inspected (or --strict and partial)
  4  error (path missing, is a directory, unsupported platform, ...)

Processes of other users cannot be inspected unless you are root: they are listed as
unreadable and the result is marked partial. Run as root (sudo) or as their user to see them.`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

class UsageError extends Error {}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

async function main(argv: string[], io: Io): Promise<number> {
  if (argv[0] === 'watch') return runWatch(argv.slice(1), io);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        depth: { type: 'string' },
        timeout: { type: 'string' },
        'no-maps': { type: 'boolean' },
        'no-redact': { type: 'boolean' },
        strict: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (e) {
    io.err(`lockscope: ${(e as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  const { values: v, positionals: pos } = parsed;
  if (v.help) {
    io.out(HELP);
    return 0;
  }
  if (v.version) {
    io.out(version());
    return 0;
  }
  try {
    const [cmd, ...rest] = pos;
    const opts: ProbeOptions = { redact: !v['no-redact'], maps: !v['no-maps'] };
    if (v.depth !== undefined) {
      if (v.depth !== 'holders' && v.depth !== 'full') throw new UsageError(`--depth must be 'holders' or 'full', got '${v.depth}'`);
      opts.depth = v.depth as ProbeDepth;
    }
    if (v.timeout !== undefined) {
      const t = Number(v.timeout);
      if (!/^\d+(\.\d+)?$/.test(v.timeout) || !(t > 0)) throw new UsageError(`--timeout must be a positive number of ms, got '${v.timeout}'`);
      opts.timeout = t;
    }
    if (cmd === 'holders') {
      if (rest.length !== 1) throw new UsageError('holders takes exactly one path');
      const r = await probe(rest[0]!, opts);
      io.out(v.json ? JSON.stringify(r, null, 2) : formatHolders(r));
      const found = r.locks.length > 0 || (r.openers?.length ?? 0) > 0;
      if (!r.complete && (v.strict || !found)) return EXIT.partial;
      return found ? EXIT.found : EXIT.nothingFound;
    }
    if (cmd === 'locks') {
      if (rest.length !== 0) throw new UsageError('locks takes no arguments');
      const r = await listLocks(opts);
      io.out(v.json ? JSON.stringify(r, null, 2) : formatLocks(r));
      const found = r.locks.length > 0;
      if (!r.complete && (v.strict || !found)) return EXIT.partial;
      return found ? EXIT.found : EXIT.nothingFound;
    }
    throw new UsageError(cmd === undefined ? 'missing command' : `unknown command '${cmd}'`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`lockscope: ${e.message}\n\n${HELP}`);
      return EXIT.usage;
    }
    if (e instanceof LockscopeError) {
      io.err(v.json ? JSON.stringify({ error: e.toJSON() }, null, 2) : `lockscope: ${e.message}`);
      return EXIT.error;
    }
    io.err(`lockscope: ${(e as Error)?.stack ?? String(e)}`);
    return EXIT.error;
  }
}

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const err = (s: string): void => void process.stderr.write(`${s}\n`);

main(process.argv.slice(2), { out, err }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    err(`lockscope: ${String(e)}`);
    process.exitCode = EXIT.error;
  },
);
