"""The index on PostgreSQL (several replicas, one database): the engine from a `postgresql://` URL through psycopg 3,
its pool checking a connection before use so a restarted database is reconnected."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from engine.backends.base import _SHARING_OFF, StoreUnavailable


def postgres_engine(setting: str, timeout: float) -> tuple[Engine, str]:
    """The engine on the database of a `postgres(ql)://` URL and where it is, in words (without credentials)."""
    try:
        url = make_url(re.sub(r"^(postgres|postgresql)(\+\w+)?://", "postgresql+psycopg://", setting))
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise StoreUnavailable(
            "EXPLORER_RUN_STORE is not a valid PostgreSQL URL; write it as "
            f"postgresql://user:password@host:5432/database. {_SHARING_OFF}"
        ) from exc
    where = f"the PostgreSQL database {url.database or ''} on {url.host or 'localhost'}:{url.port or 5432}"
    try:
        engine = sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            pool_timeout=timeout,
            connect_args={"connect_timeout": max(1, round(timeout)), "application_name": "ai-scenario-explorer"},
        )
    except ImportError as exc:  # the default install has no PostgreSQL driver
        raise StoreUnavailable(
            "A PostgreSQL run store needs the psycopg package on this server: install "
            f"the app with its team extra (pip install -e '.[team]'). {_SHARING_OFF}"
        ) from exc
    return engine, where
