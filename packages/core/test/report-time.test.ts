import { describe, expect, it } from 'vitest';
import { extract } from '../dist/report/extract.js';

// extract() parses the seconds of a time by hand when its minute is the one before: every shape
// must still read as Date.parse reads it (NaN: the line is skipped as invalid).
const line = (time: string): string => JSON.stringify({ schemaVersion: 1, event: 'acquired', path: '/l', pid: 1, time, holders: [] });
const timeOf = (time: string): number => {
  const x = extract(line(time));
  return typeof x === 'string' ? NaN : x.t;
};

describe('report record times', () => {
  it('reads every time as Date.parse does, within a minute, across minutes and in other shapes', () => {
    const times = [
      '2026-12-02T03:42:50.123Z',
      '2026-12-02T03:42:59.999Z',
      '2026-12-02T03:42:05.001Z',
      '2026-12-02T03:43:00.000Z',
      '2026-12-02T03:43:60.000Z',
      '2026-12-02T03:43:1a.000Z',
      '2026-12-02T03:43:10.00aZ',
      '2026-12-02T03:43:-1.000Z',
      '2026-13-02T03:43:10.000Z',
      '2026-13-02T03:43:11.000Z',
      '2026-12-02T03:43:11.000+01:00',
      '2026-12-02T03:43:12.000Z',
      '2026-12-02T03:43:12Z',
      '2026-12-02T03:43:12.5Z',
      '2026-12-02T04:43:12.500Z',
      '2026-12-02T03:43:13.000Z',
    ];
    for (const t of [...times, ...times]) expect([t, timeOf(t)]).toEqual([t, Date.parse(t)]);
    for (let ms = 1_796_000_000_000; ms < 1_796_000_000_000 + 3 * 60_000; ms += 997) {
      const t = new Date(ms).toISOString();
      expect(timeOf(t)).toBe(ms);
    }
  });
});
