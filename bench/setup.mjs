#!/usr/bin/env node
// Installs what only the benchmarks need, on demand: the workspace (built), then bench/'s own
// project (pino, winston, OTel SDK, and the peers measured against, fs-ext and os-lock, which
// node-gyp compiles). `npm run bench` and bench/run.mjs call it; run it once before a single script.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { installIfStale, root, run } from '../scripts/lib/pnpm.mjs';

run(process.execPath, [join(root, 'scripts', 'setup.mjs')]);
const env = { ...process.env };
// node-gyp must use the headers this machine ships, not download them.
if (!env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';
installIfStale(join(root, 'bench'), { env });
