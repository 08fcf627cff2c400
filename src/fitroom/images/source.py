"""Telling an image field's text apart: an http(s) URL to fetch, or base64 to decode.

Vendors differ: the glasses API wants bare base64, FASHN wants a ``data:`` URI, and
clients of both send either. Every dialect accepts both, so this module is lenient about
base64 spelling (whitespace, the urlsafe alphabet, missing padding) and strict about
everything else: a value is a URL, base64, or an ``InvalidImageReference``.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import urlsplit

from fitroom.errors import ImageTooLarge, InvalidImageReference

_DATA_URI = re.compile(r"data:image/[\w.+-]+(?:;[\w.+-]+=[\w.+-]+)*;base64,", re.IGNORECASE)
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")


def parse_reference(value: str, *, field: str, max_bytes: int | None = None) -> str | bytes:
    """An http(s) URL (returned as given, for the fetcher) or the decoded base64 bytes.

    ``max_bytes`` caps the decoded size; the base64 text is measured against it before
    decoding, so an oversized string is refused without allocating its decoded copy.
    """
    text = value.strip()
    if text[:8].lower().startswith(("http://", "https://")):
        return _checked_url(text, field=field)
    if match := _DATA_URI.match(text):
        return _decode_base64(text[match.end() :], field=field, max_bytes=max_bytes)
    if text[:5].lower() == "data:":
        raise InvalidImageReference(
            "a data URI must be an image in base64: data:image/<type>;base64,<data>", field=field
        )
    if _SCHEME.match(text):
        # ':' is not in either base64 alphabet, so this is a URL of another scheme
        # (file:, ftp:, gopher:, ...), which the server never follows.
        raise InvalidImageReference("only http and https image URLs are accepted", field=field)
    return _decode_base64(text, field=field, max_bytes=max_bytes)


def _checked_url(url: str, *, field: str) -> str:
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port  # .port raises ValueError unless a valid number
    except ValueError:
        raise InvalidImageReference("the image URL is not a valid URL", field=field) from None
    if not host:
        raise InvalidImageReference("the image URL has no host", field=field)
    return url


def _decode_base64(text: str, *, field: str, max_bytes: int | None) -> bytes:
    data = _WHITESPACE.sub("", text)
    if max_bytes is not None and len(data) > 4 * -(-max_bytes // 3):
        raise ImageTooLarge(f"the image is larger than {max_bytes} bytes", field=field)
    if not data or not _BASE64.fullmatch(data) or len(data.rstrip("=")) % 4 == 1:
        raise InvalidImageReference(
            "the image must be an http(s) URL, base64 data, or a data:image/...;base64, URI",
            field=field,
        )
    data = data.rstrip("=").translate(_URLSAFE_TO_STANDARD)
    try:
        decoded = base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
    except binascii.Error:
        raise InvalidImageReference("the image's base64 data is corrupt", field=field) from None
    if max_bytes is not None and len(decoded) > max_bytes:
        raise ImageTooLarge(f"the image is larger than {max_bytes} bytes", field=field)
    return decoded
