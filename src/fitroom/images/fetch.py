"""Fetching an image URL (or posting a webhook) without letting a client's URL reach
what it must not.

Every hop (the URL and each redirect) is vetted the same way: resolve the host, refuse
if *any* address it resolves to is refused by ``ssrf.is_refused`` (and not allowlisted),
then connect to the vetted address itself. Connecting by name would resolve it a second
time, and a rebinding DNS server could answer the second time with 127.0.0.1.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

import anyio
import httpx

from fitroom.errors import FetchFailed, ImageTooLarge, UrlRefused
from fitroom.images.ssrf import Allowlist, IPAddress, is_refused, literal_address

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port) -> addresses``; injectable so tests can point a public name anywhere."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}


async def system_resolver(host: str, port: int) -> list[str]:
    """The event loop's ``getaddrinfo``: every address the name has, as text."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(sockaddr[0]) for *_, sockaddr in infos]


class UrlFetcher:
    """Fetches image URLs under the SSRF policy, a byte cap, timeouts and a redirect
    limit; posts webhooks under the same policy and timeouts."""

    def __init__(
        self,
        *,
        allowlist: Allowlist | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        total_timeout: float = 120.0,
        max_redirects: int = 3,
        resolver: Resolver = system_resolver,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._allowlist = allowlist or Allowlist()
        self._max_redirects = max_redirects
        self._resolver = resolver
        # The read timeout bounds each wait for data; the total bounds a server that
        # trickles one byte just inside it, forever.
        self._total_timeout = total_timeout
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            follow_redirects=False,  # every hop is vetted here, not followed blindly
            trust_env=False,  # an environment proxy would connect by name, unpinned
            # No keep-alive: a pooled TLS connection made for one name would otherwise be
            # reused for another name that resolves to the same address.
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": "fitroom"},
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, *, max_bytes: int, field: str | None = None) -> bytes:
        """The body of ``url`` (after at most ``max_redirects`` redirects), at most
        ``max_bytes`` long. Raises ``UrlRefused``, ``FetchFailed`` or ``ImageTooLarge``."""
        with self._failures(field):
            return await self._follow(url, max_bytes=max_bytes, field=field)

    async def post_json(self, url: str, body: dict[str, Any]) -> int:
        """POST ``body`` as JSON to ``url`` and return the answer's status code.

        A webhook URL is client text like an image URL, so it is vetted the same way.
        Redirects are not followed (a 3xx is returned as it is): re-sending a POST to
        wherever a redirect points is what a guard must not do blindly.
        Raises ``UrlRefused`` or ``FetchFailed``.
        """
        with self._failures(None):
            request = await self._pinned_request("POST", url, json=body, field=None)
            response = await self._client.send(request, stream=True)
            await response.aclose()  # the status is the answer; the body is not read
            return response.status_code

    @contextmanager
    def _failures(self, field: str | None) -> Iterator[None]:
        """Bound the whole exchange in time, and turn transport errors into ours."""
        try:
            with anyio.fail_after(self._total_timeout):
                yield
        except (TimeoutError, httpx.TimeoutException):
            raise FetchFailed("the URL did not answer in time", field=field) from None
        except httpx.HTTPError:
            raise FetchFailed("the URL could not be fetched", field=field) from None

    async def _follow(self, url: str, *, max_bytes: int, field: str | None) -> bytes:
        for _hop in range(self._max_redirects + 1):
            request = await self._pinned_request("GET", url, accept="image/*", field=field)
            response = await self._client.send(request, stream=True)
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if not response.is_success:
                    raise FetchFailed(f"the URL answered HTTP {response.status_code}", field=field)
                return await _read_capped(response, max_bytes=max_bytes, field=field)
            finally:
                # Closing before the body is read to the end drops the connection, which
                # is what stops a server that would go on sending.
                await response.aclose()
        raise UrlRefused(f"the URL redirected more than {self._max_redirects} times", field=field)

    async def _pinned_request(
        self,
        method: str,
        url: str,
        *,
        field: str | None,
        accept: str = "*/*",
        json: dict[str, Any] | None = None,
    ) -> httpx.Request:
        """A request for ``url`` addressed to a vetted IP, carrying the real name in the
        Host header and, for https, in TLS SNI, so the certificate is checked against it."""
        parts = _split(url, field=field)
        name = _ascii_host(parts.hostname or "", field=field)
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
        ip = await self._vetted_address(name, port, field=field)
        ip_text = f"[{ip.compressed}]" if ip.version == 6 else ip.compressed
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = f"[{name}]" if ":" in name else name
        if parts.port is not None:
            host_header += f":{parts.port}"
        return self._client.build_request(
            method,
            f"{parts.scheme}://{ip_text}:{port}{path}",
            headers={"Host": host_header, "Accept": accept},
            json=json,
            extensions={"sni_hostname": name} if parts.scheme == "https" else {},
        )

    async def _vetted_address(self, host: str, port: int, *, field: str | None) -> IPAddress:
        literal = literal_address(host)
        addresses = [literal] if literal is not None else await self._resolve(host, port, field)
        if any(is_refused(ip) and not self._allowlist.allows(host, ip) for ip in addresses):
            # The address is not echoed: it would tell a prober what internal names
            # resolve to.
            raise UrlRefused(
                f"the URL's host {host} is a private or internal address, which this server does not connect "
                f"to; to allow it, the server's operator can add it to FITROOM_URL_ALLOWLIST "
                f"(e.g. FITROOM_URL_ALLOWLIST={host}), or send the image as base64 instead",
                field=field,
            )
        return addresses[0]

    async def _resolve(self, host: str, port: int, field: str | None) -> list[IPAddress]:
        try:
            answers = await self._resolver(host, port)
        except OSError:
            answers = []
        # A link-local answer may carry a zone ("fe80::1%eth0"); the address is what counts.
        addresses = [ip for a in answers if (ip := literal_address(a.split("%")[0])) is not None]
        if not addresses:
            raise FetchFailed("the URL's host name could not be resolved", field=field)
        return addresses


def _split(url: str, *, field: str | None) -> SplitResult:
    try:
        parts = urlsplit(url.strip())
        port_ok = parts.port is None or parts.port > 0  # .port raises ValueError if malformed
    except ValueError:
        port_ok = False
    if not port_ok or parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise UrlRefused("only well-formed http and https URLs are fetched", field=field)
    return parts


def _ascii_host(host: str, *, field: str | None) -> str:
    """The host as it goes on the wire: IDNA-encoded when it is an international name."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise UrlRefused("the URL's host name is not valid", field=field) from None


async def _read_capped(response: httpx.Response, *, max_bytes: int, field: str | None) -> bytes:
    """The body, refused as soon as it is known to be over ``max_bytes`` (from the
    Content-Length header, or while streaming: a missing or lying header is no help)."""
    too_large = ImageTooLarge(f"the image is larger than {max_bytes} bytes", field=field)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    return bytes(body)
