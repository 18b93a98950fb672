"""The blobs on S3 or any S3-compatible store (MinIO, Ceph, R2, …) through s3fs, from `s3://bucket/prefix` and the
usual AWS settings; timeouts and retries kept short so an outage is a sentence within seconds, never a hang."""

from __future__ import annotations

import os
from typing import Any

from engine.backends.base import _SHARING_OFF, StoreUnavailable


def s3_filesystem(setting: str, timeout: float) -> tuple[Any, str, str]:
    """The file system on the bucket of an `s3://` setting, its root (bucket/prefix) and where it is, in words."""
    import fsspec

    bucket_path = setting.split("://", 1)[1].strip("/")
    if not bucket_path:
        raise StoreUnavailable("EXPLORER_ARTIFACTS must name a bucket, like s3://my-bucket/explorer.")
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    config: dict[str, Any] = {
        "connect_timeout": timeout,
        "read_timeout": 60,
        "retries": {"max_attempts": 2, "mode": "standard"},
    }
    if endpoint:  # S3-compatible stores (MinIO, Ceph, …) all accept path-style addressing
        config["s3"] = {"addressing_style": "path"}
    try:
        fs = fsspec.filesystem(
            "s3",
            endpoint_url=endpoint or None,
            config_kwargs=config,
            skip_instance_cache=True,
            use_listings_cache=False,
        )
    except ImportError as exc:  # the default install has no S3 client
        raise StoreUnavailable(
            "An s3:// artifacts store needs the s3fs package on this server: install "
            f"the app with its team extra (pip install -e '.[team]'). {_SHARING_OFF}"
        ) from exc
    fs.retries = 2  # s3fs's own retry loop on top of botocore's; keeps an outage to seconds
    where = f" at {endpoint}" if endpoint else ""
    return fs, bucket_path, f"the bucket s3://{bucket_path}{where}"
