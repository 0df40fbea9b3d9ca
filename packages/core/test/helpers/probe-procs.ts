/**
 * Foreign processes for the probe tests: the shared ones (test-support/processes.ts: python3
 * holders, flock(1), a running executable) and child Node processes holding through lockscope,
 * optionally as another uid (setpriv), plus the classic tools' answers parsed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coreForOthers } from './core-for-others.js';
import { asUser, type SpawnOpts } from '../../../../test-support/holders.js';
import { stopChild, waitLine, type Proc } from '../../../../test-support/processes.js';
import { sleep } from '../../../../test-support/sleep.js';

export { flockCmd, pyHolder, runningExecutable, type HolderKind, type Proc, type SpawnOpts } from '../../../../test-support/processes.js';

const NODE_OPENER = String.raw`
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const [path, how] = process.argv.slice(1);
const fd = fs.openSync(path, 'r+');
if (how === 'inherit-flock') {
  // flock(1) locks the description it inherits on fd 3 and exits: node is left holding it.
  const r = spawnSync('flock', ['-x', '-n', '3'], { stdio: ['ignore', 'ignore', 'inherit', fd] });
  if (r.status !== 0) { console.error('flock failed', r.status); process.exit(1); }
  console.log('locker', r.pid);
}
console.log('ready', process.pid);
setInterval(() => {}, 1 << 30);
`;

/** A child Node process that keeps `path` open; with inherit-flock it also holds a flock on it. */
export async function nodeHolder(path: string, how: 'open' | 'inherit-flock', o: SpawnOpts = {}): Promise<Proc & { lockerPid?: number }> {
  const [cmd, args] = asUser(process.execPath, ['-e', NODE_OPENER, path, how], o);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen = await waitLine(child, 'ready');
  return { pid: seen.ready!, lockerPid: seen.locker, child, stop: () => stopChild(child) };
}

/**
 * A child Node process (any binary: `node`, default this one) holding an exclusive flock on
 * `path` through lockscope itself.
 */
export async function nodeLockHolder(path: string, o: SpawnOpts & { node?: string } = {}): Promise<Proc> {
  const code =
    `import(${JSON.stringify(coreForOthers().entry)}).then((m) => m.lock(${JSON.stringify(path)}))` +
    `.then((h) => { globalThis.held = h; console.log('ready', process.pid); setInterval(() => {}, 1 << 30); }, ` +
    `(e) => { console.error(e); process.exit(9); })`;
  const [cmd, args] = asUser(o.node ?? process.execPath, ['-e', code], o);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen = await waitLine(child, 'ready');
  return { pid: seen.ready!, child, stop: () => stopChild(child, [seen.ready!]) };
}

export function tmpDir(prefix: string, shared = false): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  if (shared) chmodSync(d, 0o777);
  return d;
}

export function makeFile(dir: string, name: string, shared = false): string {
  const f = join(dir, name);
  writeFileSync(f, '');
  if (shared) chmodSync(f, 0o666);
  return f;
}

/** An unprivileged user for the other-uid tests; created with useradd when missing (root only). */
export function ensureUser(name: string): { uid: number; gid: number } | null {
  let r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (r.status !== 0) {
    if (process.getuid?.() !== 0) return null;
    spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], { encoding: 'utf8' });
    r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    if (r.status !== 0) return null;
  }
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// ---- the classic tools, parsed ------------------------------------------------------------

/** PIDs `lsof <path>` reports (any fd type, maps included). */
export function lsofPids(path: string): number[] {
  const r = spawnSync('lsof', ['-w', '-F', 'p', path], { encoding: 'utf8' });
  return [...r.stdout.matchAll(/^p(\d+)$/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

/** PIDs `fuser <path>` reports (it prints PIDs on stdout, access letters on stderr). */
export function fuserPids(path: string): number[] {
  const r = spawnSync('fuser', [path], { encoding: 'utf8' });
  return [...r.stdout.matchAll(/(\d+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

/** Lines `lslocks` prints for inode `ino`: its PID column (may be -1 or dead) and type. */
export function lslocksFor(ino: number): Array<{ pid: number; type: string }> {
  const r = spawnSync('lslocks', ['--json', '--output', 'PID,TYPE,INODE', '--notruncate'], { encoding: 'utf8' });
  const j = JSON.parse(r.stdout || '{"locks":[]}') as { locks: Array<{ pid: number | string; type: string; inode: number | string }> };
  return j.locks.filter((l) => Number(l.inode) === ino).map((l) => ({ pid: Number(l.pid), type: l.type }));
}

/** Whether `pid` runs: a zombie (exited, not yet reaped by its parent) does not. */
export function alive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  const state = stat[stat.lastIndexOf(') ') + 2];
  return state !== 'Z' && state !== 'X';
}

export { sleep };
