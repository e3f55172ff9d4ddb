#!/usr/bin/env node
// Builds the native addons with CMake:
//   native/src   -> build/tsvision.node        the libtorch binding (and ops libtorch lacks)
//   native/image -> build/tsvision_image.node  image kernels for the data pipeline (no libtorch)
// Each is rebuilt only when its sources are newer than it.
//   LIBTORCH_DIR=<cmake prefix of a libtorch>  build against another libtorch (e.g. CUDA)
//   --force                                      rebuild even if the addons are up to date
//   --image                                      only the image addon
//   --build-dir=<dir> (or BUILD_DIR=<dir>)       build into <dir> instead of build/ (load it with
//                                                TSVISION_NATIVE=<dir>/tsvision.node)
//   -j<n> / --jobs=<n>                           parallel compile jobs (default: all cores)
//   CUDA_HOME=<toolkit>                          the CUDA toolkit for a CUDA libtorch (default: the
//                                                pip wheels' nvidia/cu* next to torch, /usr/local/cuda)
//   TORCH_CUDA_ARCH_LIST="8.0;9.0"               GPU architectures (default: the visible GPUs)
//   GLOO_INCLUDE=<dir>                           Gloo's headers, for a libtorch that ships none (a pip
//                                                PyTorch): a checkout of the Gloo it pins
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const argValue = (name) => {
  const i = process.argv.findIndex((a) => a === name || a.startsWith(name + '='));
  if (i < 0) return undefined;
  return process.argv[i].includes('=') ? process.argv[i].slice(name.length + 1) : process.argv[i + 1];
};
const buildDir = path.resolve(argValue('--build-dir') || process.env.BUILD_DIR || path.join(root, 'build'));
const force = process.argv.includes('--force');
const imageOnly = process.argv.includes('--image');

function newestSource(p) {
  const stat = fs.statSync(p);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of fs.readdirSync(p)) newest = Math.max(newest, newestSource(path.join(p, entry)));
  return newest;
}

const nodeApiHeaders = path.dirname(require.resolve('node-api-headers/include/node_api.h'));
const nodeAddonApi = require('node-addon-api').include_dir;
const hasNinja = spawnSync('ninja', ['--version']).status === 0;
const jobsArg = argValue('--jobs') || (process.argv.find((a) => /^-j\d+$/.test(a)) || '').slice(2);
const jobs = String(jobsArg || Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length));

/** Configures (first time or --force) and builds one CMake project into `binDir`; the addon lands in build/. */
function build(name, sources, srcDir, binDir, extra = []) {
  const addon = path.join(buildDir, name);
  if (!force && fs.existsSync(addon) && fs.statSync(addon).mtimeMs > Math.max(...sources.map(newestSource))) {
    console.log(`tsvision: ${name} is up to date (${path.relative(root, addon)})`);
    return;
  }
  const configure = [
    '-S', srcDir, '-B', binDir,
    '-DCMAKE_BUILD_TYPE=Release',
    `-DNODE_API_HEADERS_DIR=${nodeApiHeaders}`,
    `-DNODE_ADDON_API_DIR=${path.resolve(root, nodeAddonApi)}`,
    '-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=' + buildDir,
    ...extra,
  ];
  if (hasNinja) configure.push('-G', 'Ninja');
  const started = Date.now();
  const run = (args) => execFileSync('cmake', args, { stdio: 'inherit' });
  try {
    if (force || !fs.existsSync(path.join(binDir, 'CMakeCache.txt'))) run(configure);
    run(['--build', binDir, '--parallel', jobs]);
  } catch (err) {
    console.error(`tsvision: native build of ${name} failed (${err.message})`);
    process.exit(1);
  }
  console.log(`tsvision: built ${path.relative(root, addon)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const native = path.join(root, 'native');
build('tsvision_image.node', [path.join(native, 'image')], path.join(native, 'image'), path.join(buildDir, 'image'));
if (imageOnly) process.exit(0);

const prefix = process.env.LIBTORCH_DIR || '';
const defaultPrefix = '/usr/lib/x86_64-linux-gnu/cmake/Torch';
if (!prefix && !fs.existsSync(defaultPrefix)) {
  console.error('tsvision: libtorch not found. Run scripts/setup.sh (installs Debian\'s libtorch-dev), ' +
    'or set LIBTORCH_DIR to a libtorch CMake prefix, e.g. $(python3 -c "import torch; print(torch.utils.cmake_prefix_path)")');
  process.exit(1);
}

/**
 * CMake arguments that locate the CUDA toolkit when `prefix` is a CUDA libtorch (its
 * config enables CUDA and needs nvcc, headers and libcudart). CUDA_HOME wins; else a
 * pip PyTorch's own wheels (site-packages/nvidia/cu13/bin/nvcc, or nvidia/cuda_nvcc);
 * else /usr/local/cuda. The wheels split the toolkit and ship only versioned libraries
 * (libcudart.so.13), which CMake's FindCUDA does not find: a toolkit view of symlinks
 * in the build directory (cuda-toolkit/) puts bin, nvvm, include and lib in one tree.
 */
function cudaArgs(prefix, binDir) {
  const torchLib = path.resolve(prefix, '..', '..', 'lib');
  if (!fs.existsSync(path.join(torchLib, 'libtorch_cuda.so'))) return [];
  const nvidia = path.resolve(prefix, '..', '..', '..', 'nvidia');
  const wheels = fs.existsSync(nvidia) ? fs.readdirSync(nvidia).map((d) => path.join(nvidia, d)).sort().reverse() : [];
  const hasNvcc = (d) => fs.existsSync(path.join(d, 'bin', 'nvcc'));
  let home = process.env.CUDA_HOME || process.env.CUDA_PATH || wheels.find(hasNvcc) || '/usr/local/cuda';
  if (!hasNvcc(home)) {
    console.error(`tsvision: ${prefix} is a CUDA libtorch but no CUDA toolkit (nvcc) was found at ${home}; ` +
      'set CUDA_HOME, or pip install nvidia-cuda-nvcc matching torch.version.cuda');
    process.exit(1);
  }
  const hasCudart = (d) => ['lib64', 'lib'].some((l) => fs.existsSync(path.join(d, l, 'libcudart.so')));
  if (!hasCudart(home)) {
    const view = path.join(binDir, 'cuda-toolkit');
    fs.rmSync(view, { recursive: true, force: true });
    for (const sub of ['include', 'lib']) fs.mkdirSync(path.join(view, sub), { recursive: true });
    const exists = (p) => fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;
    // bin holds links to nvcc and its tools, not a link to the wheel's bin: nvcc finds the libraries
    // it links a program with (cudart_static, cudadevrt) at <its directory>/../lib64, which through a
    // linked bin would be the wheel's own folder (it has lib/ only), not this view's lib64.
    fs.mkdirSync(path.join(view, 'bin'));
    for (const name of fs.readdirSync(path.join(home, 'bin'))) fs.symlinkSync(path.join(home, 'bin', name), path.join(view, 'bin', name));
    const nvvm = [home, ...wheels].map((d) => path.join(d, 'nvvm')).find((d) => fs.existsSync(path.join(d, 'bin', 'cicc')));
    if (nvvm) fs.symlinkSync(nvvm, path.join(view, 'nvvm'));
    fs.symlinkSync('lib', path.join(view, 'lib64'));
    // nvcc's own package first: the first file of a name wins
    for (const dir of [home, ...wheels.filter((d) => d !== home)]) {
      for (const sub of ['include', 'lib']) {
        const from = path.join(dir, sub);
        if (!fs.existsSync(from)) continue;
        for (const name of fs.readdirSync(from)) {
          const to = path.join(view, sub, name);
          if (!exists(to)) fs.symlinkSync(path.join(from, name), to);
          const unversioned = sub === 'lib' && /^(lib.+\.so)\.\d[\d.]*$/.exec(name);
          if (unversioned && !exists(path.join(view, sub, unversioned[1]))) {
            fs.symlinkSync(path.join(from, name), path.join(view, sub, unversioned[1]));
          }
        }
      }
    }
    home = view;
  }
  console.log(`tsvision: CUDA libtorch; CUDA toolkit ${home}`);
  const args = [`-DCUDA_TOOLKIT_ROOT_DIR=${home}`, `-DCUDAToolkit_ROOT=${home}`, `-DCMAKE_CUDA_COMPILER=${path.join(home, 'bin', 'nvcc')}`];
  if (process.env.TORCH_CUDA_ARCH_LIST) args.push(`-DTORCH_CUDA_ARCH_LIST=${process.env.TORCH_CUDA_ARCH_LIST}`);
  return args;
}

fs.mkdirSync(buildDir, { recursive: true });
const gloo = process.env.GLOO_INCLUDE ? [`-DGLOO_INCLUDE=${path.resolve(process.env.GLOO_INCLUDE)}`] : [];
build('tsvision.node', [path.join(native, 'src'), path.join(native, 'cmake'), path.join(native, 'CMakeLists.txt')], native, buildDir,
  [...(prefix ? [`-DCMAKE_PREFIX_PATH=${prefix}`, ...cudaArgs(prefix, buildDir)] : []), ...gloo]);
