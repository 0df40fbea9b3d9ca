#!/usr/bin/env node
// Fails on code lines longer than Prettier's printWidth: Prettier does not break strings, template
// literals or comments, so those are wrapped by hand. Markdown is wrapped by hand too and not checked.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './lib/pnpm.mjs';

const width = JSON.parse(readFileSync(join(root, '.prettierrc.json'), 'utf8')).printWidth;
const files = execFileSync('git', ['ls-files', '-z', '--', '*.ts', '*.mts', '*.js', '*.mjs', '*.cjs'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter(Boolean);
let long = 0;
for (const f of files) {
  readFileSync(join(root, f), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.length <= width) return;
      long++;
      console.log(`${f}:${i + 1}: ${line.length} columns`);
    });
}
if (long) {
  console.log(`${long} line(s) longer than ${width} columns (printWidth in .prettierrc.json)`);
  process.exitCode = 1;
}
