# AI Scenario Explorer: one app replica. Build and run:
#   docker build -t ai-scenario-explorer .                                  # CPU build of torch (default)
#   docker build --build-arg TORCH_BUILD=cu128 -t ai-scenario-explorer:cuda .  # CUDA build (GPU hosts, Ray GPU workers)
#   docker run -p 8501:8501 -v explorer-runs:/data ai-scenario-explorer
# Settings come from the environment (see deploy/compose.yaml and README "Deploy for a team"):
#   PORT, EXPLORER_RUN_STORE (folder or postgresql://…), EXPLORER_ARTIFACTS (folder or s3://…), AWS_*.
FROM python:3.11-slim-bookworm

# Which torch build: "cpu" (small, any host) or a CUDA tag of PyTorch's wheel index, e.g. "cu128".
ARG TORCH_BUILD=cpu
ARG TORCH_VERSION=2.13.0
# Extras from pyproject.toml: "team" (PostgreSQL and S3 clients); "team,ray" for Ray nodes.
ARG EXTRAS=team

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8501 \
    EXPLORER_RUN_STORE=/data/runs

RUN groupadd --gid 10001 explorer \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin explorer \
    && mkdir -p /app /data \
    && chown 10001:10001 /data

WORKDIR /app

# torch first, from PyTorch's own index: the CPU wheel is ~200 MB where PyPI's default pulls several GB
# of CUDA libraries. The app's pin (torch==2.13.0) is then already satisfied.
RUN pip install --no-cache-dir --index-url "https://download.pytorch.org/whl/${TORCH_BUILD}" "torch==${TORCH_VERSION}"

# Dependencies from pyproject.toml in their own layer (rebuilt only when it changes); the app is
# installed editable so that engine/ and ui/ are imported from /app beside sample_data/.
COPY pyproject.toml README.md ./
RUN mkdir engine ui \
    && touch engine/__init__.py ui/__init__.py \
    && pip install --no-cache-dir -e ".[${EXTRAS}]"

COPY --chown=root:root . .

USER 10001:10001
EXPOSE 8501
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["/app/deploy/entrypoint.sh", "health"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
