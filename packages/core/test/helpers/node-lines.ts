/**
 * Node binaries of other release lines, for tests that start child processes on them (each line
 * names its main thread differently: 20 and 22 `node`, 24 `MainThread`, 26 `node-MainThread`).
 * Found, in order: LOCKSCOPE_NODE_BINARIES (paths separated by ':'), then the npm-installed
 * `node-linux-<arch>@<major>` packages in ~/.cache/lockscope-node/<major> (the cache of the Node
 * matrix in .ci/run), then `node` on PATH. The suite's own node is always one of them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface NodeLine {
  major: number;
  version: string;
  path: string;
}

export const NODE_MAJORS = [20, 22, 24, 26] as const;

function versionOf(path: string): string | null {
  const r = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

function candidates(): string[] {
  const out = (process.env.LOCKSCOPE_NODE_BINARIES ?? '').split(delimiter).filter(Boolean);
  const pkg = join('node_modules', `node-linux-${process.arch}`, 'bin', 'node');
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lockscope-node');
  for (const m of NODE_MAJORS) out.push(join(cache, String(m), pkg));
  // And whatever `node` PATH has (the system's, when the suite runs on another line).
  for (const d of (process.env.PATH ?? '').split(delimiter)) if (d) out.push(join(d, 'node'));
  return out;
}

let found: Map<number, NodeLine> | undefined;

/** One binary per major line: the suite's own node first, then the first candidate of each other line. */
export function nodeLines(): Map<number, NodeLine> {
  if (found) return found;
  found = new Map();
  const own = Number(process.versions.node.split('.')[0]);
  found.set(own, { major: own, version: process.versions.node, path: process.execPath });
  for (const path of candidates()) {
    if (process.platform !== 'linux' || !existsSync(path)) continue;
    const version = versionOf(path);
    if (version === null) continue;
    const major = Number(version.split('.')[0]);
    if (!found.has(major)) found.set(major, { major, version, path });
  }
  return found;
}

/** Why a line is missing, for the name of the test that is skipped without it. */
export function missingNote(major: number): string {
  return (
    `no Node ${major} binary found: set LOCKSCOPE_NODE_BINARIES or run ` +
    `npm install --prefix ~/.cache/lockscope-node/${major} node-linux-${process.arch}@${major}`
  );
}
