"""One call from an image field's value to checked pixels: parse, fetch, decode."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Self

import anyio.to_thread

from fitroom.images.decode import DecodedImage, decode
from fitroom.images.fetch import UrlFetcher
from fitroom.images.limits import ImageLimits
from fitroom.images.source import parse_reference
from fitroom.images.ssrf import Allowlist
from fitroom.settings import Settings


@dataclass(frozen=True)
class LoadedImage:
    """The bytes as received (kept as the job's input blob) and their decoded pixels."""

    data: bytes
    image: DecodedImage


class ImageLoader:
    """Turns a URL, base64 text or uploaded file into a ``LoadedImage`` under a dialect's
    ``ImageLimits``. Holds one HTTP client; close it with ``aclose``."""

    def __init__(self, fetcher: UrlFetcher, *, max_pixels: int) -> None:
        self.fetcher = fetcher  # also the guarded client webhooks are posted with
        self._max_pixels = max_pixels

    @classmethod
    def from_settings(cls, settings: Settings) -> ImageLoader:
        fetcher = UrlFetcher(
            allowlist=Allowlist.parse(settings.url_allowlist),
            connect_timeout=settings.fetch_connect_timeout,
            read_timeout=settings.fetch_read_timeout,
            max_redirects=settings.fetch_max_redirects,
        )
        return cls(fetcher, max_pixels=settings.max_image_pixels)

    async def load(self, value: str | bytes, limits: ImageLimits, *, field: str) -> LoadedImage:
        """``value`` is the field's text (URL, base64, data URI) or an uploaded file's bytes.
        Raises an ``ImageError`` subclass with ``field`` set."""
        data = value
        if isinstance(value, str):
            data = parse_reference(value, field=field, max_bytes=limits.max_bytes)
        if isinstance(data, str):  # a URL
            data = await self.fetcher.fetch(data, max_bytes=limits.max_bytes, field=field)
        # Decoding a large image takes long enough to stall every other request.
        image = await anyio.to_thread.run_sync(
            partial(decode, data, limits, max_pixels=self._max_pixels, field=field)
        )
        return LoadedImage(data=data, image=image)

    async def aclose(self) -> None:
        await self.fetcher.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
