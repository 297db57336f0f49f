#!/usr/bin/env bash
# One prepared run for a lent GPU machine (issues 3 and 7): the CUDA conformance tests, then
# the scale benchmark on CUDA. About 6-8 minutes on an H100; every step has its own timeout,
# so a slow step cannot eat the next one's time. Run from the repository root with the
# Fashion-MNIST IDX files in .fashion/ (carry it):
#   bash benchmarks/gpu_session.sh            # results under $OUT (or ./gpu_out)
# Overrides: DEVICE (cuda), SIZES ("7500 60000"), BASELINES ("ssd finetune"), PYTHON (python3).
# The machine's own torch is used (no downloads); nbval may be missing, hence -o addopts="".
set -uo pipefail
OUT=${OUT:-gpu_out}
DEVICE=${DEVICE:-cuda}
SIZES=${SIZES:-7500 60000}
BASELINES=${BASELINES:-ssd finetune}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
{
  date -u +"%Y-%m-%d %H:%M UTC"
  git rev-parse --short HEAD 2>/dev/null || echo "(no git)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
  "$PY" -c "import sys, torch; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available())"
} | tee "$OUT/machine.txt"

echo "== conformance on $DEVICE"
WORKBENCH_TEST_DEVICE=$DEVICE timeout 240 "$PY" -m pytest -q -o addopts="" -p no:cacheprovider \
  tests/test_unlearn.py tests/test_baselines.py tests/test_device_hashing.py tests/test_heads.py \
  2>&1 | tail -n 15 | tee "$OUT/conformance.txt"

echo "== scale benchmark on $DEVICE, sizes $SIZES"
# shellcheck disable=SC2086  # SIZES and BASELINES are word lists
timeout 420 "$PY" benchmarks/scale.py --device "$DEVICE" --data-dir .fashion --no-install \
  --sizes $SIZES --baselines $BASELINES --json "$OUT/scale_$DEVICE.json" \
  2>&1 | tee "$OUT/scale_$DEVICE.md" | tail -n 40
echo "== done: $OUT"
