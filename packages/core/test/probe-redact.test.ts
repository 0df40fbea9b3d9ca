import { describe, expect, it } from 'vitest';
import { REDACTED, redactArgv } from '@lockscope/core';

const R = REDACTED;

describe('redactArgv: the default table', () => {
  it.each<[string, string[], string[]]>([
    ['--password value', ['app', '--password', 'hunter2'], ['app', '--password', R]],
    ['--password=value', ['app', '--password=hunter2'], ['app', `--password=${R}`]],
    ['--db-password value', ['app', '--db-password', 'x'], ['app', '--db-password', R]],
    [
      '--token / --api-key / --secret',
      ['a', '--token', 't', '--api-key', 'k', '--secret=s'],
      ['a', '--token', R, '--api-key', R, `--secret=${R}`],
    ],
    ['--apiKey camel / --client_secret', ['a', '--apikey', 'k', '--client_secret', 's'], ['a', '--apikey', R, '--client_secret', R]],
    ['-p-style short flags are not guessed', ['mysql', '-p', '3306'], ['mysql', '-p', '3306']],
    ['a flag without value does not eat the next flag', ['a', '--password', '--verbose'], ['a', '--password', '--verbose']],
    ['--no-password is a switch', ['a', '--no-password', 'file'], ['a', '--no-password', 'file']],
    [
      'KEY=value env-style',
      ['env', 'DB_PASSWORD=x', 'AWS_SECRET_ACCESS_KEY=y', 'PATH=/bin'],
      ['env', `DB_PASSWORD=${R}`, `AWS_SECRET_ACCESS_KEY=${R}`, 'PATH=/bin'],
    ],
    ['key=value lower-case', ['x', 'password=1', 'user=bob', 'api_key=2'], ['x', `password=${R}`, 'user=bob', `api_key=${R}`]],
    ['Java -D properties', ['java', '-Ddb.password=x', '-Dfoo=bar'], ['java', `-Ddb.password=${R}`, '-Dfoo=bar']],
    ['URL credentials', ['psql', 'postgres://bob:s3cret@db:5432/app'], ['psql', `postgres://bob:${R}@db:5432/app`]],
    ['URL inside a flag value', ['app', '--db=mysql://root:pw@h/x'], ['app', `--db=mysql://root:${R}@h/x`]],
    [
      'URL with a token as user',
      ['git', 'clone', 'https://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/o/r'],
      ['git', 'clone', `https://${R}@github.com/o/r`],
    ],
    ['URL with a plain user is kept', ['ssh', 'ssh://git@host/repo'], ['ssh', 'ssh://git@host/repo']],
    ['Authorization header', ['curl', '-H', 'Authorization: Bearer abc.def'], ['curl', '-H', `Authorization: ${R}`]],
    ['X-Api-Key header', ['curl', '-H', 'X-Api-Key: k123'], ['curl', '-H', `X-Api-Key: ${R}`]],
    ['Bearer inside a value', ['x', '--header=Bearer abc'], ['x', `--header=Bearer ${R}`]],
    [
      'innocent argv untouched',
      ['node', 'server.js', '--port', '8080', 'file=a.txt'],
      ['node', 'server.js', '--port', '8080', 'file=a.txt'],
    ],
    ['argv[0] kept, even odd', ['--password', 'x'], ['--password', 'x']],
  ])('%s', (_name, input, expected) => {
    expect(redactArgv(input)).toEqual(expected);
  });

  it('does not modify its input', () => {
    const a = ['app', '--token', 't'];
    redactArgv(a);
    expect(a).toEqual(['app', '--token', 't']);
  });
});
