#!/usr/bin/env bash
# The GPU checks in one pass, for a machine with a CUDA GPU (no streamlit/shap needed there):
# the engine tests with the device forced to CUDA, then every benchmark in quick mode (each
# prints CPU vs GPU ratios measured in the same run). Logs go to $OUT (or artifacts/gpu).
set -uo pipefail
cd "$(dirname "$0")/.."
LOG="${OUT:-artifacts/gpu}"
mkdir -p "$LOG"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1

step() {  # step NAME SECONDS COMMAND... : run with a time limit, keep the log, print its tail
  local name=$1 secs=$2; shift 2
  local start=$SECONDS
  timeout "$secs" "$@" >"$LOG/$name.log" 2>&1
  local rc=$?
  echo "=== $name: exit $rc after $((SECONDS - start)) s (limit $secs s)"
  tail -n "${TAIL:-14}" "$LOG/$name.log"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'cpus', __import__('os').cpu_count())"
step engine_tests_cuda 150 env EXPLORER_DEVICE=cuda python3 -m pytest -q -p no:cacheprovider tests/engine
step bench_engine 60 python3 bench/engine.py --rows 500000 --epochs 3 --batch 4096
step bench_segmentation 70 python3 bench/segmentation.py --quick
step bench_fraud 110 python3 bench/fraud.py --quick
step bench_digits 80 python3 bench/digits.py --quick
step bench_diagnosis 45 python3 bench/diagnosis.py --quick --device cuda
step bench_forecast 60 python3 bench/forecast.py --quick
