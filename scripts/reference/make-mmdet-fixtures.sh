#!/usr/bin/env bash
# Reference fixtures from MMDetection 3.3 itself (issue 13): builds the OpenMMLab reference environment under
# .cache/openmmlab if it is absent, then runs scripts/reference/mmdet_fixtures.py with it.
#   bash scripts/reference/make-mmdet-fixtures.sh          # tiny models  -> test/fixtures/mmdet/      (~15 MB, committed)
#   bash scripts/reference/make-mmdet-fixtures.sh --full   # R-50 widths  -> .cache/mmdet-fixtures/    (opt-in, ~900 MB? see README)
# Extra arguments go to the Python script (--out DIR writes elsewhere).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
env="$root/.cache/openmmlab"
envscript=${OPENMMLAB_ENV_SCRIPT:-$root/../shared/references/openmmlab-env.sh}
[ -f "$envscript" ] || envscript=/work/shared/references/openmmlab-env.sh
if [ ! -x "$env/bin/python" ] || ! "$env/bin/python" -c 'import mmdet, mmcv._ext' 2>/dev/null; then
  echo "building the OpenMMLab reference environment in $env (a few minutes)"
  bash "$envscript" "$env"
fi
cd "$root"
exec "$env/bin/python" scripts/reference/mmdet_fixtures.py "$@"
