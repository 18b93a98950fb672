#!/bin/sh
# What the container image runs (Dockerfile ENTRYPOINT and HEALTHCHECK); tests/deploy start it directly.
#   entrypoint.sh [extra streamlit options]  serve the app on $PORT (default 8501) at $ADDRESS (default 0.0.0.0)
#   entrypoint.sh health                     exit 0 when the server on $PORT answers /_stcore/health
# Store settings (EXPLORER_RUN_STORE, EXPLORER_ARTIFACTS, AWS_*) and the other EXPLORER_* settings
# pass through from the environment.
set -eu
cd "$(dirname "$0")/.."
export PORT="${PORT:-8501}"

if [ "${1:-}" = "health" ]; then
  exec python -c 'import os, sys, urllib.request
url = "http://127.0.0.1:%s/_stcore/health" % os.environ["PORT"]
try:
    sys.exit(0 if urllib.request.urlopen(url, timeout=4).read() == b"ok" else 1)
except OSError:
    sys.exit(1)'
fi

# Training on a Ray cluster (EXPLORER_RUNNER=ray, RAY_ADDRESS=head:6379): a Ray driver must run on a
# node of the cluster, so this replica joins it first as a node that offers no CPUs to jobs.
if [ "${EXPLORER_RUNNER:-local}" = "ray" ] && [ -n "${RAY_ADDRESS:-}" ]; then
  ray start --address="$RAY_ADDRESS" --num-cpus=0 --disable-usage-stats
fi

exec python -m streamlit run app.py \
  --server.headless=true \
  --server.address="${ADDRESS:-0.0.0.0}" \
  --server.port="$PORT" \
  --browser.gatherUsageStats=false \
  "$@"
