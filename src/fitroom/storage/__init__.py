"""Where inputs and results live: a local directory or an S3-compatible object store."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from fitroom.storage.base import Storage
from fitroom.storage.signing import UrlSigner


def open_storage(url: str, signer: UrlSigner, base_url: str, *, presigned_urls: bool = False) -> Storage:
    """The storage ``url`` names: ``file:///path`` or ``s3://bucket/prefix``."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        from fitroom.storage.local import LocalStorage

        return LocalStorage(Path(unquote(parts.path)), signer, base_url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"FITROOM_STORAGE_URL={url!r}: an s3:// URL names a bucket, as in s3://bucket/prefix")
        from fitroom.storage.s3 import S3Storage

        return S3Storage(parts.netloc, unquote(parts.path), signer, base_url, presigned_urls=presigned_urls)
    raise ValueError(f"FITROOM_STORAGE_URL={url!r}: expected file:///path or s3://bucket/prefix")
