#!/usr/bin/env node
// Builds the libtorch binding (native/) with CMake into build/tsvision.node.
//   LIBTORCH_DIR=<cmake prefix of a libtorch>  build against another libtorch (e.g. CUDA)
//   --force                                      rebuild even if the addon is up to date
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const buildDir = path.join(root, 'build');
const addon = path.join(buildDir, 'tsvision.node');
const force = process.argv.includes('--force');

function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

if (!force && fs.existsSync(addon) && fs.statSync(addon).mtimeMs > newestSource(path.join(root, 'native'))) {
  console.log(`tsvision: native addon is up to date (${path.relative(root, addon)})`);
  process.exit(0);
}

const prefix = process.env.LIBTORCH_DIR || '';
const defaultPrefix = '/usr/lib/x86_64-linux-gnu/cmake/Torch';
if (!prefix && !fs.existsSync(defaultPrefix)) {
  console.error('tsvision: libtorch not found. Run scripts/setup.sh (installs Debian\'s libtorch-dev), ' +
    'or set LIBTORCH_DIR to a libtorch CMake prefix, e.g. $(python3 -c "import torch; print(torch.utils.cmake_prefix_path)")');
  process.exit(1);
}

const nodeApiHeaders = path.dirname(require.resolve('node-api-headers/include/node_api.h'));
const nodeAddonApi = require('node-addon-api').include_dir;
const hasNinja = spawnSync('ninja', ['--version']).status === 0;
const jobs = String(Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length));

const configure = [
  '-S', path.join(root, 'native'), '-B', buildDir,
  '-DCMAKE_BUILD_TYPE=Release',
  `-DNODE_API_HEADERS_DIR=${nodeApiHeaders}`,
  `-DNODE_ADDON_API_DIR=${path.resolve(root, nodeAddonApi)}`,
  '-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=' + buildDir,
];
if (prefix) configure.push(`-DCMAKE_PREFIX_PATH=${prefix}`);
if (hasNinja) configure.push('-G', 'Ninja');

const started = Date.now();
const run = (args) => execFileSync('cmake', args, { stdio: 'inherit' });
try {
  if (force || !fs.existsSync(path.join(buildDir, 'CMakeCache.txt'))) run(configure);
  run(['--build', buildDir, '--parallel', jobs]);
} catch (err) {
  console.error(`tsvision: native build failed (${err.message})`);
  process.exit(1);
}
console.log(`tsvision: built ${path.relative(root, addon)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
