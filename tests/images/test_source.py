"""An image field's text: URL, raw base64 or data URI, and nothing else."""

from __future__ import annotations

import base64

import pytest

from fitroom.errors import ImageTooLarge, InvalidImageReference
from fitroom.images.source import parse_reference

# Bytes whose base64 uses both '+' and '/', so the urlsafe spelling differs from it.
PAYLOAD = bytes(range(256)) * 3 + b"\xfb\xff\xfe"


def test_http_and_https_urls_are_returned_for_fetching() -> None:
    for url in ("http://example.com/a.png", "https://cdn.example.com:8443/x.jpg?v=1"):
        assert parse_reference(url, field="garm_img") == url


def test_url_surrounding_whitespace_is_ignored() -> None:
    url = "https://example.com/a.png"
    assert parse_reference(f"  {url}\n", field="f") == url


def test_raw_base64_is_decoded() -> None:
    assert parse_reference(base64.b64encode(PAYLOAD).decode(), field="f") == PAYLOAD


def test_data_uri_is_decoded() -> None:
    text = "data:image/png;base64," + base64.b64encode(PAYLOAD).decode()
    assert parse_reference(text, field="f") == PAYLOAD


def test_data_uri_with_parameters_and_upper_case_prefix() -> None:
    text = "DATA:image/jpeg;name=a.jpg;base64," + base64.b64encode(PAYLOAD).decode()
    assert parse_reference(text, field="f") == PAYLOAD


def test_urlsafe_alphabet_is_accepted() -> None:
    text = base64.urlsafe_b64encode(PAYLOAD).decode()
    assert "-" in text and "_" in text
    assert parse_reference(text, field="f") == PAYLOAD


def test_missing_padding_and_line_breaks_are_tolerated() -> None:
    text = base64.b64encode(b"abcde").decode()
    assert text.endswith("=")
    assert parse_reference(text.rstrip("="), field="f") == b"abcde"
    wrapped = base64.encodebytes(PAYLOAD).decode()  # 76-character lines
    assert "\n" in wrapped.strip()
    assert parse_reference(wrapped, field="f") == PAYLOAD


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "not base64 at all!",
        "abcde",  # a length no base64 text can have
        "ab=cd",  # padding in the middle
        "data:text/plain;base64,aGVsbG8=",  # not an image
        "data:image/png,rawbytes",  # not base64
        "//example.com/a.png",  # scheme-relative
    ],
)
def test_garbage_is_an_invalid_reference(text: str) -> None:
    with pytest.raises(InvalidImageReference) as info:
        parse_reference(text, field="human_img")
    assert info.value.field == "human_img"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.png",
        "gopher://127.0.0.1:6379/_INFO",
        "javascript:alert(1)",
        "http:///no-host.png",
        "http://example.com:notaport/a.png",
    ],
)
def test_urls_other_than_http_and_https_are_refused(url: str) -> None:
    with pytest.raises(InvalidImageReference):
        parse_reference(url, field="f")


def test_base64_over_the_byte_cap_is_too_large() -> None:
    text = base64.b64encode(b"x" * 1000).decode()
    with pytest.raises(ImageTooLarge) as info:
        parse_reference(text, field="f", max_bytes=999)
    assert info.value.field == "f"
    assert parse_reference(text, field="f", max_bytes=1000) == b"x" * 1000
