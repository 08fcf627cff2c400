"""The storage interface. One file per implementation beside it (``local.py``, ``s3.py``);
``fitroom.storage.open_storage`` picks one from ``FITROOM_STORAGE_URL``.

Keys are relative, slash-separated paths such as ``jobs/<job id>/outputs/0.png``; a job
keeps everything under ``jobs/<job id>/`` so deleting a job's blobs is one prefix delete.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    content_type: str
    modified_at: datetime


class Storage(ABC):
    """Where blobs live. Implementations must make ``put`` atomic: a reader never sees
    half a blob, and a crash mid-write leaves no blob under the key."""

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str) -> BlobInfo:
        """Store ``data`` under ``key`` (replacing any blob there)."""

    @abstractmethod
    def get(self, key: str) -> tuple[bytes, str]:
        """The blob's bytes and content type. Raises ``BlobNotFound``."""

    @abstractmethod
    def info(self, key: str) -> BlobInfo:
        """Size, type and time of a blob. Raises ``BlobNotFound``."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob whose key starts with ``prefix``; the number deleted."""

    @abstractmethod
    def url(self, key: str, expires_in: int) -> str:
        """A URL that reads the blob until ``expires_in`` seconds from now, and not after."""

    def check(self) -> None:
        """Raise ``StorageUnavailable`` saying why, when blobs cannot be stored here: run
        once when a server or worker starts, so a misconfiguration stops it at once
        rather than failing its first job."""
