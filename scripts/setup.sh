#!/usr/bin/env bash
# One-command set-up: system packages (as root, via apt-get), then npm ci, which
# builds the native libtorch addon and compiles the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."

# libtorch-dev + libopenblas0: the compute engine (Debian's libtorch 1.13, OpenBLAS BLAS)
# python3-torch/torchvision: the independent reference the tests compare against
# python3-pil: the data-pipeline benchmark's Python reference
# memcached: the memcached file backend's tests start a real server
# libgloo-dev: Gloo's headers, which libtorch's c10d ProcessGroupGloo.hpp includes (src/distributed)
PKGS=(cmake ninja-build g++ libtorch-dev libgloo-dev libopenblas0 python3-torch python3-torchvision python3-pil memcached)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
npm ci
echo "setup: done. Try ./bin/tsvision --help"
