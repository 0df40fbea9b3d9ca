/** The /proc formats the Linux probe parses (internal module, by path into the built dist). */
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  devFromProc,
  devParts,
  makeDev,
  parseFdinfo,
  parseLocks,
  parseStat,
  procDev,
  programName,
} from '../dist/platform/linux/probe-proc.js';

describe('device numbers: stat().dev <-> /proc/locks hex major:minor', () => {
  it.each([
    [65024, 'fe:00', 254, 0], // the sample from this machine
    [2049, '08:01', 8, 1],
    [makeDev(0, 0x12345), '00:12345', 0, 0x12345], // large minor (anonymous devices on busy hosts)
    [makeDev(0x1234, 0x56), '1234:56', 0x1234, 0x56], // large major
    [makeDev(259, 0xfffff), '103:fffff', 259, 0xfffff],
  ])('%d is %s', (dev, s, M, m) => {
    expect(devParts(dev)).toEqual([M, m]);
    expect(procDev(dev)).toBe(s);
    expect(devFromProc(s)).toBe(dev);
  });

  it.runIf(process.platform === 'linux')('matches the kernel for a real file (/proc/self/maps spells it the same way)', () => {
    const exe = statSync(process.execPath);
    const maps = readFileSync('/proc/self/maps', 'latin1');
    expect(maps).toContain(` ${procDev(exe.dev)} ${exe.ino} `);
  });
});

describe('/proc/locks lines', () => {
  const text = [
    '1: FLOCK  ADVISORY  WRITE 11979 fe:00:2146934 0 EOF',
    '1: -> FLOCK  ADVISORY  WRITE 12237 fe:00:2146934 0 EOF',
    '2: POSIX  ADVISORY  READ 3969 103:fffff:12 10 29',
    '3: OFDLCK ADVISORY  READ -1 fe:00:2146472 0 EOF',
    '4: LEASE  ACTIVE    READ 11990 fe:00:2146935 0 EOF',
    '',
  ].join('\n');
  it('parses holders, waiters, ranges, big device numbers', () => {
    const l = parseLocks(text);
    expect(l).toHaveLength(5);
    expect(l[1]).toMatchObject({
      n: 1,
      waiter: true,
      kernelClass: 'FLOCK',
      rawMode: 'WRITE',
      pid: 12237,
      device: 'fe:00',
      ino: 2146934,
      start: 0,
      end: null,
    });
    expect(l[2]).toMatchObject({ kernelClass: 'POSIX', rawMode: 'READ', device: '103:fffff', ino: 12, start: 10, end: 29 });
    expect(l[3]).toMatchObject({ kernelClass: 'OFDLCK', pid: -1 });
    expect(l[4]).toMatchObject({ kernelClass: 'LEASE', type: 'ACTIVE' });
  });
  it('filters by device:inode token without parsing the rest', () => {
    expect(parseLocks(text, ' fe:00:2146934 ').map((x) => x.pid)).toEqual([11979, 12237]);
    expect(parseLocks(text, ' fe:00:214693 ')).toEqual([]);
  });
});

describe('fdinfo and stat', () => {
  it('fdinfo: access mode from octal flags, lock lines', () => {
    const f = parseFdinfo(
      'pos:\t0\nflags:\t02102002\nmnt_id:\t27\nino:\t2146472\nlock:\t1: OFDLCK ADVISORY  READ -1 fe:00:2146472 0 EOF\n',
    );
    expect(f.accmode).toBe(2);
    expect(f.locks).toEqual([expect.objectContaining({ kernelClass: 'OFDLCK', ino: 2146472, pid: -1 })]);
    expect(parseFdinfo('flags:\t0100000\n').accmode).toBe(0);
    expect(parseFdinfo('flags:\t0100001\n').accmode).toBe(1);
  });
  it('stat: command names with spaces and parentheses', () => {
    const s = parseStat('42 (a) b (c) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 0 0');
    expect(s).toMatchObject({ command: 'a) b (c', state: 'S', ppid: 7, flags: 4194560, startTicks: 12345 });
  });
});

describe('programName: comm unless it is a thread name (docs/probe.md, command)', () => {
  const node = '/usr/local/bin/node';
  it.each([
    ['Node 20', 'node', node, [node, 'app.js'], 'node'],
    ['Node 24', 'MainThread', node, [node, 'app.js'], 'node'],
    ['Node 26', 'node-MainThread', node, [node, 'app.js'], 'node'],
    ['any renamed thread, exe readable', 'worker-7', '/usr/bin/python3.11', ['python3', '-c', 'x'], 'python3.11'],
    ['exe replaced on disk', 'node-MainThread', `${node} (deleted)`, [node], 'node'],
    ['exec through a symlink (argv[0])', 'python3', '/usr/bin/python3.11', ['python3', 'x.py'], 'python3'],
    ['exec -a (exe)', 'sleep', '/usr/bin/sleep', ['custom', '60'], 'sleep'],
    ['a script its interpreter runs (argv[1])', 'hold-it.sh', '/usr/bin/dash', ['/bin/sh', '/srv/hold-it.sh'], 'hold-it.sh'],
    ['a name cut to 15 bytes', 'a-very-long-pro', '/opt/a-very-long-program-name', ['/opt/a-very-long-program-name'], 'a-very-long-pro'],
    ['rewritten argv, no exe: comm kept', 'postgres', null, ['postgres: checkpointer '], 'postgres'],
    ['renamed thread, no exe: nothing disproves comm', 'worker-7', null, ['python3', '-c', 'x'], 'worker-7'],
    ['runtime thread name, no exe: argv[0]', 'node-MainThread', null, [node, 'app.js'], 'node'],
    ['runtime thread name, nothing else', 'MainThread', null, null, null],
  ] as const)('%s', (_what, comm, exe, argv, want) => {
    expect(programName(comm, exe, argv)).toBe(want);
  });
});
