// The failed tests of a vitest JSON report, as lines to print last: a CI log is read from its tail,
// far below vitest's own summary (scripts/test.mjs, scripts/matrix.mjs).
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/** @returns {string[]} one `failed: file > test` line per failure, each with its message's first lines. */
export function failureLines(reportPath, root) {
  let j;
  try {
    j = JSON.parse(readFileSync(reportPath, 'utf8'));
  } catch {
    return [`failed: no vitest report at ${reportPath}`];
  }
  const out = [];
  for (const f of j.testResults ?? []) {
    const file = relative(root, f.name);
    const failed = (f.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of failed) {
      out.push(`failed: ${file} > ${t.fullName}`);
      for (const m of t.failureMessages ?? [])
        out.push(
          ...m
            .split('\n')
            .slice(0, 8)
            .map((l) => `    ${l}`),
        );
    }
    if (f.status === 'failed' && failed.length === 0)
      out.push(`failed: ${file}: ${String(f.message).split('\n').slice(0, 8).join('\n    ')}`);
  }
  return out;
}
