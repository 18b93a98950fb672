"""The real services the store tests share: one throwaway PostgreSQL and one moto S3 server per session
(tests/services.py starts them), and the usual S3 settings pointing at that server."""

from __future__ import annotations

import pytest

from tests.services import S3_ENV, postgres_server, s3_server


@pytest.fixture(scope="session")
def pg():
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def s3_endpoint():
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch):
    """The usual S3 settings, pointing at the local S3 API server."""
    for name, value in {**S3_ENV, "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(name, value)
    return s3_endpoint
