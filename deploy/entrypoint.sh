#!/bin/sh
# What the container image runs (Dockerfile ENTRYPOINT and HEALTHCHECK); tests/deploy start it directly.
#   entrypoint.sh [extra streamlit options]  serve the app on $PORT (default 8501) at $ADDRESS (default 0.0.0.0)
#   entrypoint.sh health                     exit 0 when the server on $PORT answers /_stcore/health
#   entrypoint.sh ray-head [ray start options]  a Ray head node (deploy/compose.yaml, --profile ray)
# Before serving (or starting Ray) it refuses, with a sentence and exit status 64, secrets left at a
# placeholder (change-me, …) or too short: the database password in EXPLORER_RUN_STORE, AWS_SECRET_ACCESS_KEY,
# RAY_AUTH_TOKEN, and the sign-in cookie_secret / client_secret in .streamlit/secrets.toml.
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

# Secrets that are still the examples' placeholders open the deployment to anyone who read the examples.
python - "${1:-serve}" <<'PY' || exit 64
import os, re, sys, tomllib
from urllib.parse import urlsplit

PLACEHOLDER = re.compile(r"change[-_ ]?me|changeme|replace[-_ ]?me|placeholder|your[-_ ]|example|^secret$|^password$"
                         r"|a[-_ ]long[-_ ]random[-_ ]string|^x+$|^\.\.\.$|^…$", re.I)


def weak(value, shortest=12):
    return value is not None and (bool(PLACEHOLDER.search(value)) or len(value) < shortest)


found = []
store = os.environ.get("EXPLORER_RUN_STORE", "")
if store.startswith(("postgresql://", "postgres://")) and weak(urlsplit(store).password or "", 8):
    found.append("the PostgreSQL password in EXPLORER_RUN_STORE (POSTGRES_PASSWORD in deploy/.env)")
if os.environ.get("AWS_SECRET_ACCESS_KEY") is not None and weak(os.environ["AWS_SECRET_ACCESS_KEY"], 8):
    found.append("AWS_SECRET_ACCESS_KEY (S3_SECRET_KEY in deploy/.env)")
ray_wanted = sys.argv[1] == "ray-head" or os.environ.get("EXPLORER_RUNNER", "local") == "ray" and os.environ.get("RAY_ADDRESS")
if os.environ.get("RAY_AUTH_TOKEN") or ray_wanted:
    if weak(os.environ.get("RAY_AUTH_TOKEN", ""), 16):
        found.append("RAY_AUTH_TOKEN (at least 16 random characters)")
secrets_file = ".streamlit/secrets.toml"
if os.path.isfile(secrets_file):
    try:
        with open(secrets_file, "rb") as f:
            auth = tomllib.load(f).get("auth", {})
    except (OSError, tomllib.TOMLDecodeError):
        auth = {}  # the app itself then stays closed and says why on every page
    for key in ("cookie_secret", "client_secret"):
        if isinstance(auth, dict) and isinstance(auth.get(key), str) and weak(auth[key], 8 if key == "client_secret" else 16):
            found.append(f"{key} in the [auth] section of the secrets file")
if found:
    print("Refusing to start: these secrets are still a placeholder or too short, so anyone who has read the examples "
          "could use them: " + "; ".join(found) + ". Set real, random values (deploy/.env, the secrets file) and start "
          "again.", file=sys.stderr)
    sys.exit(1)
PY

if [ "${1:-}" = "ray-head" ]; then
  shift
  exec ray start --head --disable-usage-stats "$@"
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
