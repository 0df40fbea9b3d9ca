/** Human output of the `lockscope` command: aligned tables, a footer about what was not visible. */
import type { ListLocksResult, ProbeLock, ProbeProcess, ProbeResult, ProbeUnreadable } from '../probe/types.js';

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

function range(l: { range: { start: number; end: number | null } }): string {
  return `${l.range.start}-${l.range.end === null ? 'EOF' : l.range.end}`;
}

function who(p: ProbeProcess): string {
  return p.user ?? (p.uid === null ? '?' : String(p.uid));
}

function cmd(p: ProbeProcess): string {
  const a = p.argv && p.argv.length > 0 ? p.argv.join(' ') : p.command ? `[${p.command}]` : '?';
  const one = a.replace(/\s+/g, ' ');
  return one.length > 80 ? `${one.slice(0, 77)}...` : one;
}

function started(p: ProbeProcess): string {
  return p.startTime === null ? '?' : new Date(p.startTime).toISOString().replace('.000Z', 'Z');
}

function lockRows(locks: ProbeLock[], withPath: boolean): string[][] {
  const rows: string[][] = [];
  for (const l of locks) {
    const base = (role: string, p: ProbeProcess | null, fds: string, mode = l.mode): string[] => {
      const r = [
        role,
        l.kernelClass,
        mode === 'exclusive' ? 'WRITE' : mode === 'shared' ? 'READ' : 'UNLCK',
        range(l),
        p && p.pid > 0 ? String(p.pid) : '?',
        p ? who(p) : '?',
        p ? started(p) : '?',
        fds,
        p ? cmd(p) : '(not found)',
      ];
      if (withPath) r.push(l.path ?? `(unknown: dev ${l.device} inode ${l.ino})`);
      return r;
    };
    if (l.holders.length === 0) rows.push(base('holder', null, '-'));
    for (const h of l.holders) rows.push(base(h.confirmed ? 'holder' : 'holder?', h, h.fds === null ? '?' : h.fds.join(',')));
    for (const w of l.waiters) rows.push(base('waiter', w.pid > 0 ? w : null, '-', w.mode));
  }
  return rows;
}

const LOCK_HEAD = ['ROLE', 'TYPE', 'MODE', 'RANGE', 'PID', 'USER', 'STARTED', 'FD', 'COMMAND'];

function footer(unreadable: ProbeUnreadable[], incomplete: string[], uid: number): string {
  const out: string[] = [];
  if (incomplete.length === 0) return '';
  const perm = unreadable.filter((u) => u.reason === 'permission' || u.reason === 'hidden');
  const exited = unreadable.filter((u) => u.reason === 'exited');
  if (perm.length > 0) {
    const list = perm
      .slice(0, 10)
      .map((u) => `${u.pid} (${u.command ?? '?'}, ${u.user ?? u.uid ?? '?'})`)
      .join(', ');
    out.push(`warning: ${perm.length} process(es) could not be inspected (permission): ${list}${perm.length > 10 ? ', ...' : ''}`);
    out.push(
      uid === 0
        ? '  even root is refused by some processes (other user namespaces, sandbox init): they may hold or have the file open unseen.'
        : '  they may hold or have the file open unseen. To see them, run as root (sudo lockscope ...) or as their user.',
    );
  }
  if (exited.length > 0) out.push(`note: ${exited.length} process(es) exited while being scanned.`);
  if (incomplete.includes('hidepid')) out.push('warning: /proc is mounted with hidepid: other users\' processes are invisible; run as root to see them.');
  if (incomplete.includes('deadline')) out.push('warning: the time budget ran out: the scan is partial (raise --timeout).');
  if (incomplete.includes('unresolved')) out.push('warning: some locks have no holder lockscope could see (see above).');
  return out.join('\n');
}

export function formatHolders(r: ProbeResult): string {
  const out: string[] = [`${r.path}  (dev ${r.device}, inode ${r.ino})`];
  if (r.locks.length === 0) out.push('locks: none');
  else out.push('', table(LOCK_HEAD, lockRows(r.locks, false)));
  if (r.openers !== null) {
    out.push('');
    if (r.openers.length === 0) out.push('open by: nobody');
    else {
      out.push(
        table(
          ['PID', 'USER', 'STARTED', 'FDS', 'MAPS', 'COMMAND'],
          r.openers.map((o) => [
            String(o.pid),
            who(o),
            started(o),
            o.fds.length === 0 ? '-' : o.fds.map((f) => `${f.fd}${f.access ?? ''}`).join(','),
            o.maps.length === 0 ? '-' : String(o.maps.length),
            cmd(o),
          ]),
        ),
      );
    }
  } else {
    out.push('', '(openers not scanned: --depth holders)');
  }
  const f = footer(r.unreadable, r.incomplete, r.uid);
  if (f) out.push('', f);
  return out.join('\n');
}

export function formatLocks(r: ListLocksResult): string {
  const out: string[] = [];
  if (r.locks.length === 0) out.push('no locks');
  else out.push(table([...LOCK_HEAD, 'PATH'], lockRows(r.locks, true)));
  const f = footer(r.unreadable, r.incomplete, r.uid);
  if (f) out.push('', f);
  return out.join('\n');
}
