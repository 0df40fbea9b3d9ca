import { describe, expect, it } from 'vitest';
import { classifyErrno, errnoNumber, LockError, lockErrorFromErrno } from '@lockscope/core';

describe('classifyErrno', () => {
  it('EACCES is contention from a lock call, permission from open', () => {
    const eacces = errnoNumber('EACCES')!;
    expect(classifyErrno('fcntl', eacces)).toMatchObject({ reason: 'contended', retry: true, code: 'EACCES' });
    expect(classifyErrno('open', eacces)).toMatchObject({ reason: 'permission', retry: false });
  });
  it('EAGAIN from flock is EWOULDBLOCK contention', () => {
    expect(classifyErrno('flock', errnoNumber('EAGAIN')!)).toMatchObject({ code: 'EWOULDBLOCK', reason: 'contended' });
  });
  it('EDEADLK from fcntl is a retryable deadlock; EINTR retries; ENOLCK is unsupported', () => {
    expect(classifyErrno('fcntl', errnoNumber('EDEADLK')!)).toMatchObject({ reason: 'deadlock', retry: true });
    expect(classifyErrno('flock', errnoNumber('EINTR')!)).toMatchObject({ retry: true });
    expect(classifyErrno('fcntl', errnoNumber('ENOLCK')!)).toMatchObject({ reason: 'unsupported', retry: false });
  });
  it('EBADF from flock says reopen read-write (NFSv4), from fcntl it is an access-mode problem', () => {
    expect(classifyErrno('flock', errnoNumber('EBADF')!)).toMatchObject({ reason: 'io', retry: true });
    expect(classifyErrno('fcntl', errnoNumber('EBADF')!)).toMatchObject({ reason: 'permission', retry: false });
  });
  it('open: ENOENT not-found, EISDIR invalid-argument, EROFS permission', () => {
    expect(classifyErrno('open', errnoNumber('ENOENT')!).reason).toBe('not-found');
    expect(classifyErrno('open', errnoNumber('EISDIR')!).reason).toBe('invalid-argument');
    expect(classifyErrno('open', errnoNumber('EROFS')!).reason).toBe('permission');
  });
  it('LockError carries code, errno, syscall, path, kind, reason', () => {
    const e = lockErrorFromErrno('open', errnoNumber('ENOENT')!, '/nope/x', 'flock');
    expect(e).toBeInstanceOf(LockError);
    expect(e).toMatchObject({
      code: 'ENOENT',
      errno: errnoNumber('ENOENT'),
      syscall: 'open',
      path: '/nope/x',
      kind: 'flock',
      reason: 'not-found',
    });
    expect(JSON.parse(JSON.stringify(e))).toMatchObject({ code: 'ENOENT', reason: 'not-found' });
  });
});
