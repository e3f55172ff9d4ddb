#!/usr/bin/env bash
# Builds the addon's host code with g++ against a pip PyTorch 2.x, without CMake and without a CUDA
# toolkit, and runs tests with it: what shows, on a machine with no GPU and no nvcc, that the
# native code (the c10d binding above all: 2.x wraps ProcessGroupGloo / ProcessGroupNCCL, which are
# c10d::Backends there, in a c10d::ProcessGroup, and has another c10d::Reducer constructor)
# compiles, links and runs against libtorch 2.x as well as against Debian's 1.13.
#   bash scripts/check-pip-torch.sh [python]     (default python3; any pip torch 2.x, CUDA or not)
# - No .cu kernels (buildInfo().cuda is false): scripts/gpu-check.sh builds those, with nvcc.
# - NCCL when the torch is a CUDA build: nccl.h from its nvidia-nccl wheel. The CUDA runtime
#   headers it includes need the nvidia-cuda-crt and nvidia-cuda-cccl wheels of the same CUDA
#   (crt/host_config.h, nv/target), or CUDA_HOME/include.
# - Gloo when GLOO_INCLUDE names Gloo's headers: a pip PyTorch ships none. A checkout of the
#   Gloo that its third_party/gloo pins; a gloo/config.h is generated from config.h.in if missing.
# Env: BUILD_DIR (default build-pip/), GLOO_INCLUDE, CUDA_HOME, TESTS (default "distributed").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
BUILD_DIR=${BUILD_DIR:-$PWD/build-pip}
TESTS=${TESTS:-distributed}
mkdir -p "$BUILD_DIR"

read -r TORCH_ROOT TORCH_VERSION TORCH_CUDA ABI < <("$PY" -c '
import os, torch
print(os.path.dirname(torch.__file__), torch.__version__, torch.version.cuda or "none", int(torch._C._GLIBCXX_USE_CXX11_ABI))')
case "$TORCH_VERSION" in 2.*) ;; *) echo "check-pip-torch: torch $TORCH_VERSION: expected a 2.x" >&2; exit 1;; esac
SITE=$(dirname "$TORCH_ROOT")
INC="$TORCH_ROOT/include"
echo "check-pip-torch: torch $TORCH_VERSION (CUDA $TORCH_CUDA) at $TORCH_ROOT"

CXXFLAGS=(-std=gnu++20 -O1 -fPIC -fvisibility=hidden "-D_GLIBCXX_USE_CXX11_ABI=$ABI"
  -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
  -Inode_modules/node-api-headers/include -Inode_modules/node-addon-api -isystem "$INC" -isystem "$INC/torch/csrc/api/include")
DIST=(-DUSE_DISTRIBUTED -DTSV_WITH_C10D)
LIBS=(-ltorch -ltorch_cpu -lc10)
if [ -n "${GLOO_INCLUDE:-}" ]; then
  if [ ! -f "$GLOO_INCLUDE/gloo/config.h" ]; then
    [ -f "$GLOO_INCLUDE/gloo/config.h.in" ] || { echo "check-pip-torch: GLOO_INCLUDE=$GLOO_INCLUDE has neither gloo/config.h nor gloo/config.h.in" >&2; exit 1; }
    # as CMake's build writes it (native/cmake/gloo_config.cmake)
    cuda=OFF; [ "$TORCH_CUDA" != none ] && cuda=ON
    cmake -DGLOO_INCLUDE="$GLOO_INCLUDE" -DGLOO_CONFIG_DIR="$BUILD_DIR/gloo-config" -DGLOO_USE_CUDA=$cuda -P native/cmake/gloo_config.cmake
    DIST+=(-isystem "$BUILD_DIR/gloo-config")
  fi
  DIST+=(-DUSE_C10D_GLOO -DTSV_WITH_GLOO -isystem "$GLOO_INCLUDE")
else
  echo "check-pip-torch: no GLOO_INCLUDE: building without Gloo"
fi
if [ "$TORCH_CUDA" != none ]; then
  DIST+=(-DUSE_C10D_NCCL -DTSV_WITH_NCCL)
  for d in "$SITE"/nvidia/*/include ${CUDA_HOME:+"$CUDA_HOME/include"}; do [ -d "$d" ] && DIST+=(-isystem "$d"); done
  LIBS+=(-ltorch_cuda -lc10_cuda)
fi

objs=()
for f in binding runtime detection_ops distributed ddp sync_bn; do
  extra=()
  case $f in distributed|ddp|sync_bn) extra=("${DIST[@]}");; esac
  echo "check-pip-torch: compiling $f.cpp"
  g++ "${CXXFLAGS[@]}" "${extra[@]}" -c "native/src/$f.cpp" -o "$BUILD_DIR/$f.o"
  objs+=("$BUILD_DIR/$f.o")
done
g++ -shared -o "$BUILD_DIR/tsvision.node.tmp" "${objs[@]}" -L"$TORCH_ROOT/lib" -Wl,-rpath,"$TORCH_ROOT/lib" -Wl,--no-as-needed "${LIBS[@]}" \
  -Wl,--unresolved-symbols=ignore-in-object-files
mv "$BUILD_DIR/tsvision.node.tmp" "$BUILD_DIR/tsvision.node"
[ -d dist ] || npx tsc -p tsconfig.json
TSVISION_NATIVE="$BUILD_DIR/tsvision.node" node -e '
  const d = require("./dist/src/torch/native").native.distributed;
  console.log("check-pip-torch: c10d backends:", d ? JSON.stringify(d.backends) : "none");'
TSVISION_NATIVE="$BUILD_DIR/tsvision.node" node scripts/run-tests.js $TESTS
