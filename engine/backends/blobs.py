"""The blob store: files of runs by key in a folder (the default, engine/backends/s3.py for S3, or any other fsspec
protocol whose package is installed), each `put` atomic."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.backends.base import _SHARING_OFF, CONNECT_TIMEOUT, StoreUnavailable
from engine.backends.s3 import s3_filesystem

_KEY = re.compile(
    r"^(?:[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}/)*[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$"
)  # run ids may start with -
_TMP = ".tmp-"


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    modified: float  # seconds since the epoch


class Blobs:
    """Files of runs (models, datasets, result tables) in a folder or an object store, by key.

    Keys are relative paths such as `runs/<id>/model.safetensors` (checked: no `..`, no
    leading slash). A `put` is atomic: a reader sees the whole blob or none."""

    def __init__(self, setting: str | Path, connect_timeout: float | None = None):
        timeout = CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        setting = str(setting)
        protocol = setting.split("://", 1)[0] if "://" in setting else "file"
        if protocol in ("s3", "s3a"):
            self.kind = "s3"
            self.fs, self.root, self._where = s3_filesystem(setting, timeout)
        elif protocol == "file":
            self.kind = "folder"
            self.fs, self.root, self._where = _folder_filesystem(setting)
        else:
            self.kind = protocol
            self.fs, self.root, self._where = _other_filesystem(protocol, setting)

    def describe(self) -> str:
        return self._where

    def _path(self, key: str) -> str:
        if not isinstance(key, str) or not _KEY.fullmatch(key) or ".." in key.split("/"):
            raise ValueError(f"bad blob key {key!r}")
        return f"{self.root}/{key}"

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError:
            raise
        except PermissionError as exc:
            raise StoreUnavailable(
                f"The run store ({self._where}) refused to {what}: permission denied. {_SHARING_OFF}"
            ) from exc
        except OSError as exc:
            raise StoreUnavailable(
                f"The run store ({self._where}) could not {what}: {_blob_reason(exc)}. {_SHARING_OFF}"
            ) from exc
        except Exception as exc:  # botocore/aiohttp errors that s3fs does not translate
            if type(exc).__module__.split(".")[0] in ("botocore", "aiobotocore", "aiohttp", "s3fs"):
                raise StoreUnavailable(
                    f"The run store ({self._where}) could not {what}: {_blob_reason(exc)}. {_SHARING_OFF}"
                ) from exc
            raise

    def check(self) -> None:
        """Raise StoreUnavailable unless the folder or bucket can be listed now."""
        with self._errors("be listed"):
            if self.kind == "s3":
                bucket = self.root.split("/", 1)[0]
                if not self.fs.exists(bucket):
                    raise StoreUnavailable(
                        f"The bucket {bucket} does not exist at the configured S3 endpoint. "
                        f"Create it or correct EXPLORER_ARTIFACTS. {_SHARING_OFF}"
                    )
            if self.fs.exists(self.root):
                self.fs.ls(self.root, detail=False)

    def put(self, key: str, data: bytes) -> None:
        """Write a blob whole. Blob first, index row last: see the module docstring."""
        path = self._path(key)
        with self._errors("save a file"), _missing_is_unavailable(self._where):
            if self.kind == "folder":
                parent = path.rsplit("/", 1)[0]
                self.fs.makedirs(parent, exist_ok=True)
                tmp = f"{path}{_TMP}{secrets.token_hex(8)}"
                try:
                    self.fs.pipe_file(tmp, data)
                    os.replace(tmp, path)  # atomic on one file system
                finally:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
            else:
                self.fs.pipe_file(path, data)  # an object PUT is atomic

    def get(self, key: str) -> bytes:
        """The blob's bytes; FileNotFoundError when there is none."""
        path = self._path(key)
        with self._errors("read a file"):
            return self.fs.cat_file(path)

    def exists(self, key: str) -> bool:
        path = self._path(key)
        with self._errors("look up a file"):
            return self.fs.exists(path)

    def delete(self, key: str) -> None:
        """Remove one blob; a missing one is fine."""
        path = self._path(key)
        with self._errors("delete a file"):
            try:
                self.fs.rm_file(path)
            except FileNotFoundError:
                pass

    def entries(self, prefix: str = "") -> list[BlobInfo]:
        """Every blob under a key prefix ("runs/<id>/", "datasets/"), with size and modification time."""
        if prefix and not _KEY.fullmatch(prefix.rstrip("/")):
            raise ValueError(f"bad blob prefix {prefix!r}")
        base = f"{self.root}/{prefix}".rstrip("/")
        with self._errors("list files"):
            try:
                found = self.fs.find(base, detail=True)
            except FileNotFoundError:
                return []
        out = []
        for path, info in found.items():
            if info.get("type") == "directory" or _TMP in path.rsplit("/", 1)[-1]:
                continue
            key = path[len(self.root.rstrip("/")) + 1 :] if path.startswith(self.root) else path
            if not key.startswith(prefix):  # find() on S3 matches a key prefix, not a folder
                continue
            out.append(BlobInfo(key, int(info.get("size") or 0), _modified(info)))
        return sorted(out, key=lambda b: b.key)

    def keys(self, prefix: str = "") -> list[str]:
        return [b.key for b in self.entries(prefix)]

    def delete_prefix(self, prefix: str) -> int:
        """Remove every blob under a prefix ("runs/<id>/"); returns how many were removed."""
        if not prefix.endswith("/"):
            raise ValueError("a prefix to delete must end with '/' (a whole folder, never part of a name)")
        found = self.entries(prefix)
        with self._errors("delete files"):
            if found:
                self.fs.rm([f"{self.root}/{b.key}" for b in found])
            folder = f"{self.root}/{prefix}".rstrip("/")
            if self.kind == "folder" and self.fs.exists(folder):  # object stores have no empty folders to leave
                self.fs.rm(folder, recursive=True)
        return len(found)

    def total_size(self, prefix: str = "") -> int:
        """Bytes stored under a prefix (all blobs by default): what the size cap counts."""
        return sum(b.size for b in self.entries(prefix))


@contextlib.contextmanager
def _missing_is_unavailable(where: str) -> Iterator[None]:
    """A write that finds no bucket (or folder) is an outage of the store, not a missing blob."""
    try:
        yield
    except FileNotFoundError as exc:
        raise StoreUnavailable(
            f"The run store ({where}) is missing its bucket or folder: {_blob_reason(exc)}. {_SHARING_OFF}"
        ) from exc


def _folder_filesystem(setting: str) -> tuple[Any, str, str]:
    """The local file system, the folder of a folder setting (made when missing) and where it is, in words."""
    import fsspec

    folder = Path(setting.removeprefix("file://")).expanduser().resolve()
    fs = fsspec.filesystem("file", skip_instance_cache=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailable(
            f"The artifacts folder {folder} cannot be created ({exc.strerror}). {_SHARING_OFF}"
        ) from exc
    return fs, folder.as_posix(), f"the folder {folder}"


def _other_filesystem(protocol: str, setting: str) -> tuple[Any, str, str]:
    """Another fsspec protocol (gcs://, az://, … once its package is installed; untested here)."""
    import fsspec

    try:
        fs = fsspec.filesystem(protocol, skip_instance_cache=True)
    except (ImportError, ValueError) as exc:
        raise StoreUnavailable(
            f"EXPLORER_ARTIFACTS uses {protocol}://, which this server cannot open ({exc}). "
            "Use a folder or an s3:// URL."
        ) from exc
    return fs, setting.split("://", 1)[1].strip("/"), setting


def _modified(info: Mapping[str, Any]) -> float:
    for name in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(name)
        if isinstance(value, dt.datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
    return 0.0


def _blob_reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text.rstrip(".") or type(exc).__name__
