#!/usr/bin/env bash
# Builds the addon against the CUDA libtorch of a pip PyTorch and runs the GPU tests.
#   bash scripts/gpu-check.sh [python]      (default python3; its torch must be a CUDA build)
# Env: BUILD_DIR (default build-cuda/), TORCH_CUDA_ARCH_LIST (default: the visible GPUs),
#      CUDA_HOME (default: the pip wheels' toolkit next to torch, else /usr/local/cuda),
#      TESTS (test-file filters, default "torch/cuda distributed/nccl"; "torch" runs every engine test).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
BUILD_DIR=${BUILD_DIR:-$PWD/build-cuda}
TESTS=${TESTS:-torch/cuda distributed/nccl}

LIBTORCH_DIR=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
"$PY" -c 'import torch; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, GPUs visible: {torch.cuda.device_count()}")'
[ -d node_modules ] || npm ci --ignore-scripts
LIBTORCH_DIR=$LIBTORCH_DIR node scripts/build-native.js --force --build-dir="$BUILD_DIR"
npx tsc -p tsconfig.json
# the GPU cases skip, saying why, when the addon sees no GPU; fail here instead
TSVISION_NATIVE="$BUILD_DIR/tsvision.node" node -e '
  const t = require("./dist/src/torch");
  if (!t.buildInfo().cuda) { console.error("gpu-check: the addon was built without CUDA"); process.exit(1); }
  if (!t.cuda.isAvailable()) { console.error("gpu-check: the CUDA addon sees no GPU"); process.exit(1); }
  console.log(`gpu-check: ${t.cuda.deviceCount()} CUDA device(s)`);'
TSVISION_NATIVE="$BUILD_DIR/tsvision.node" node scripts/run-tests.js $TESTS
