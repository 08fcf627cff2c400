"""Blobs as files under one directory, read back through signed ``/files/<key>`` URLs.

Each blob is two files: its bytes at ``<root>/<key>``, and its content type in a sidecar
``.<name>~type`` beside it. Keys may not have segments starting with a dot, so sidecars
and the temporary files of puts in progress (``.<name>~<random>.tmp``) can never be
named by a key, and a key needs no extension to carry its type.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from fitroom.errors import BlobNotFound, StorageUnavailable
from fitroom.storage.base import BlobInfo, Storage
from fitroom.storage.signing import UrlSigner


class LocalStorage(Storage):
    """A ``Storage`` in a local directory, safe for several processes on one machine."""

    def __init__(self, root: Path, signer: UrlSigner, base_url: str) -> None:
        self.root = root
        self.signer = signer  # the /files route verifies with it before ``get``
        self._base_url = base_url.rstrip("/")

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".write-check"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StorageUnavailable(f"cannot write blobs under {self.root}: {exc.strerror or exc}") from None

    def put(self, key: str, data: bytes, content_type: str) -> BlobInfo:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # The type goes first: once the bytes are visible under the key, so is their type.
        _write_atomically(_sidecar(path), content_type.encode("utf-8"), blob=path.name)
        _write_atomically(path, data, blob=path.name)
        return self.info(key)

    def get(self, key: str) -> tuple[bytes, str]:
        path = self._existing(key)
        try:
            return path.read_bytes(), _sidecar(path).read_text("utf-8")
        except (FileNotFoundError, IsADirectoryError):  # deleted while we looked
            raise BlobNotFound() from None

    def info(self, key: str) -> BlobInfo:
        path = self._existing(key)
        try:
            stat = path.stat()
            content_type = _sidecar(path).read_text("utf-8")
        except FileNotFoundError:
            raise BlobNotFound() from None
        return BlobInfo(
            key=key,
            size=stat.st_size,
            content_type=content_type,
            modified_at=datetime.fromtimestamp(stat.st_mtime, UTC),
        )

    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob whose key starts with ``prefix``, with its sidecar and any
        temporary file a crashed put left; the number of blobs deleted."""
        folder, _, _ = prefix.rpartition("/")
        base = self._path(folder) if folder else self.root
        if not base.is_dir():
            return 0
        deleted = 0
        for dirpath, _, filenames in os.walk(base, topdown=False):
            directory = Path(dirpath)
            for name in filenames:
                owner = _owner(name)
                if (directory / owner).relative_to(self.root).as_posix().startswith(prefix):
                    (directory / name).unlink(missing_ok=True)
                    deleted += owner == name
            if directory != self.root:
                try:
                    directory.rmdir()  # only succeeds once it is empty
                except OSError:
                    pass
        return deleted

    def url(self, key: str, expires_in: int) -> str:
        self._path(key)  # a URL for a key that could never be stored is a bug upstream
        return self.signer.files_url(self._base_url, key, expires_in)

    def _path(self, key: str) -> Path:
        """The file for ``key``; ``ValueError`` for anything but a plain relative path."""
        segments = key.split("/")
        # Refusing every dot-leading segment refuses "." and ".." and keeps sidecars and
        # temporary files out of reach.
        if "\\" in key or "\x00" in key or any(not s or s.startswith(".") for s in segments):
            raise ValueError(f"not a valid blob key: {key!r}")
        return self.root.joinpath(*segments)

    def _existing(self, key: str) -> Path:
        # Client text reaches here through the /files route: a key that could never have
        # been stored is, to the client, simply not there.
        try:
            path = self._path(key)
        except ValueError:
            raise BlobNotFound() from None
        if not path.is_file():
            raise BlobNotFound()
        return path


def _sidecar(path: Path) -> Path:
    return path.with_name(f".{path.name}~type")


def _owner(name: str) -> str:
    """The blob file a file in a blob folder belongs to: itself, or for a sidecar or
    temporary file (``.<name>~...``), ``<name>``. The suffixes never contain ``~``."""
    return name[1:].rpartition("~")[0] if name.startswith(".") else name


def _write_atomically(path: Path, data: bytes, *, blob: str) -> None:
    """Readers see the old file or the new one, never part of one; a crash leaves at
    most a temporary file named for ``blob``. The rename is atomic because it stays in
    one folder, and so on one file system."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{blob}~", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
