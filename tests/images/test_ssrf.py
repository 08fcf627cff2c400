"""The SSRF guard, against real listeners on loopback.

Every refused target is aimed at a listener that records each connection it accepts, so
"refused" is shown by what did not happen on the wire, not by trusting the error alone.
The fetcher's transport is the real httpx transport wrapped by ``LoopbackOnly``, a
safety net that records every request and will not send one off this machine, so a
broken guard shows up as a failure here instead of as traffic to a real private network.
"""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from PIL import Image

from fitroom.errors import FetchFailed, ImageTooLarge, UrlRefused
from fitroom.images.fetch import Resolver, UrlFetcher
from fitroom.images.ssrf import Allowlist, is_refused, literal_address

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()


# --- listeners ---------------------------------------------------------------------------


class Listener:
    """A TCP listener that accepts, records and drops every connection."""

    def __init__(self, host: str, family: socket.AddressFamily) -> None:
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.accepted: list[Any] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted.append(peer)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


class ImageServer(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 serving a PNG, redirects, errors and bad bodies."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.port: int = self.server_address[1]
        self.requests: list[tuple[str, str | None]] = []  # (path, Host header)
        self.posted: list[Any] = []  # JSON bodies of POSTs
        self.closed_early = threading.Event()
        self.stop = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ImageServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers["Host"]))
        path, _, query = self.path.partition("?")
        if path == "/image.png":
            self._reply(200, PNG, "image/png")
        elif path == "/redirect":
            self._redirect(unquote(query.removeprefix("to=")))
        elif path == "/loop":
            self._redirect("/loop")
        elif path.startswith("/hop/"):
            left = int(path.removeprefix("/hop/"))
            self._redirect(f"/hop/{left - 1}" if left > 1 else "/image.png")
        elif path == "/missing":
            self._reply(404, b"not found", "text/plain")
        elif path == "/slow":
            self.server.stop.wait(30)
        elif path == "/endless":
            self._endless()
        elif path == "/declared-huge":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
            self.wfile.write(PNG)
            self.server.stop.wait(30)

    def do_POST(self) -> None:
        self.server.requests.append((self.path, self.headers["Host"]))
        length = int(self.headers["Content-Length"])
        self.server.posted.append(json.loads(self.rfile.read(length)))
        if self.path == "/moved":
            self._redirect(f"http://127.0.0.1:{self.server.port}/hook")
        else:
            self._reply(204 if self.path == "/hook" else 404, b"", "text/plain")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _endless(self) -> None:
        # No Content-Length: the body ends when the connection does, which is never
        # unless the client hangs up.
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"\x00" * 65536
        try:
            while not self.server.stop.is_set():
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.server.closed_early.set()
        self.close_connection = True


def _ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAS_IPV6 = _ipv6_loopback_available()


@pytest.fixture(scope="module")
def _listeners() -> Iterator[dict[str, Listener]]:
    listeners = {
        "127.0.0.1": Listener("127.0.0.1", socket.AF_INET),
        "127.0.0.2": Listener("127.0.0.2", socket.AF_INET),
    }
    if HAS_IPV6:
        listeners["::1"] = Listener("::1", socket.AF_INET6)
    yield listeners
    for listener in listeners.values():
        listener.close()


@pytest.fixture
def listeners(_listeners: dict[str, Listener]) -> dict[str, Listener]:
    for listener in _listeners.values():
        listener.accepted.clear()
    return _listeners


@pytest.fixture
def server() -> Iterator[ImageServer]:
    server = ImageServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.stop.set()
    server.shutdown()
    thread.join()
    server.server_close()


# --- the fetcher under test ------------------------------------------------------------


class LoopbackOnly(httpx.AsyncHTTPTransport):
    """The real transport, recording every request and sending none off loopback."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.URL] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.url)
        if not ip_address(request.url.host).is_loopback:
            raise AssertionError(f"the fetcher tried to reach {request.url.host}")
        return await super().handle_async_request(request)


def static_resolver(table: dict[str, list[str]]) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        name = host.lower().rstrip(".")  # as DNS compares names
        if name not in table:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        return table[name]

    return resolve


@asynccontextmanager
async def fetcher(
    *, allow: str = "", names: dict[str, list[str]] | None = None, **options: Any
) -> AsyncIterator[tuple[UrlFetcher, LoopbackOnly]]:
    transport = LoopbackOnly()
    options.setdefault("read_timeout", 2.0)
    options.setdefault("total_timeout", 15.0)
    options.setdefault("resolver", static_resolver(names or {}))
    f = UrlFetcher(allowlist=Allowlist.parse(allow), transport=transport, **options)
    try:
        yield f, transport
    finally:
        await f.aclose()


# Public-looking names, and what a hostile DNS server answers for them.
NAMES = {
    "images.example.com": ["127.0.0.1"],
    "cdn.example.net": ["93.184.216.34", "127.0.0.2"],  # one bad answer is enough
    "metadata.example.org": ["169.254.169.254"],
    "mapped.example.org": ["::ffff:127.0.0.1"],
    "v6.example.org": ["::1"],
    "internal.example.org": ["127.0.0.2"],
}

# {p1}, {p2}, {p6}: the ports of the listeners on 127.0.0.1, 127.0.0.2 and ::1.
REFUSED = [
    "http://127.0.0.1:{p1}/image.png",
    "https://127.0.0.1:{p1}/image.png",
    "http://127.0.0.2:{p2}/",
    "http://127.255.255.254:{p1}/",
    "http://10.0.0.1:{p1}/",
    "http://172.16.0.1:{p1}/",
    "http://172.31.255.254:{p1}/",
    "http://192.168.1.1:{p1}/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1:{p1}/",
    "http://0.0.0.0:{p1}/",  # on Linux, connecting to 0.0.0.0 reaches loopback
    "http://0:{p1}/",
    "http://224.0.0.1:{p1}/",
    "http://255.255.255.255:{p1}/",
    "http://240.0.0.1:{p1}/",
    "http://192.0.2.10:{p1}/",  # documentation
    "http://198.18.0.1:{p1}/",  # benchmarking
    "http://[::1]:{p6}/",
    "http://[::]:{p6}/",
    "http://[fe80::1]:{p6}/",
    "http://[fe80::1%25lo]:{p6}/",
    "http://[fc00::1]:{p6}/",
    "http://[fd00::2]:{p6}/",
    "http://[fec0::1]:{p6}/",
    "http://[ff02::1]:{p6}/",
    "http://[::ffff:127.0.0.1]:{p1}/",
    "http://[::ffff:7f00:1]:{p1}/",
    "http://[::127.0.0.1]:{p1}/",  # v4-compatible
    "http://[64:ff9b::7f00:1]:{p1}/",  # NAT64
    "http://[2002:7f00:1::]:{p1}/",  # 6to4
    "http://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
    "http://2130706433:{p1}/",  # integer
    "http://0177.0.0.1:{p1}/",  # octal
    "http://0x7f.1:{p1}/",  # hex, short form
    "http://0x7f000001:{p1}/",
    "http://017700000001:{p1}/",
    "http://127.1:{p1}/",
    "http://0x7F.0.0.2:{p2}/",
    "http://user:pass@127.0.0.1:{p1}/",
    "http://images.example.com:{p1}/image.png",
    "http://IMAGES.Example.COM.:{p1}/image.png",
    "http://cdn.example.net:{p2}/",
    "http://metadata.example.org/latest/meta-data/",
    "http://mapped.example.org:{p1}/",
    "http://v6.example.org:{p6}/",
]


def _fill(url: str, listeners: dict[str, Listener]) -> str:
    p6 = listeners["::1"].port if "::1" in listeners else 9
    return url.format(p1=listeners["127.0.0.1"].port, p2=listeners["127.0.0.2"].port, p6=p6)


def _assert_no_connection(listeners: dict[str, Listener], transport: LoopbackOnly) -> None:
    assert {host: lst.accepted for host, lst in listeners.items()} == {h: [] for h in listeners}
    assert transport.sent == []


@pytest.mark.parametrize("template", REFUSED)
async def test_refused_targets_are_never_connected_to(
    template: str, listeners: dict[str, Listener]
) -> None:
    async with fetcher(names=NAMES) as (f, transport):
        try:
            await f.fetch(_fill(template, listeners), max_bytes=10_000_000, field="garm_img")
        except Exception as error:  # checked below, after the wire
            raised: Exception | None = error
        else:
            raised = None
    _assert_no_connection(listeners, transport)
    assert isinstance(raised, UrlRefused)
    assert "private or internal address" in str(raised)
    assert raised.field == "garm_img"


async def test_the_system_resolver_refuses_localhost(listeners: dict[str, Listener]) -> None:
    transport = LoopbackOnly()
    f = UrlFetcher(transport=transport)  # the real getaddrinfo: /etc/hosts says loopback
    try:
        with pytest.raises(UrlRefused):
            await f.fetch(f"http://localhost:{listeners['127.0.0.1'].port}/", max_bytes=1000)
    finally:
        await f.aclose()
    _assert_no_connection(listeners, transport)


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/a.png", "file:///etc/passwd", "gopher://127.0.0.1:70/", "http:///x"]
)
async def test_other_schemes_are_refused(url: str) -> None:
    async with fetcher() as (f, transport):
        with pytest.raises(UrlRefused):
            await f.fetch(url, max_bytes=1000)
    assert transport.sent == []


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{p2}/",
        "http://internal.example.org:{p2}/",
        "http://0x7f000002:{p2}/",
        "http://[::1]:{p6}/",
        "http://169.254.169.254/latest/meta-data/",
        "ftp://127.0.0.1:{p1}/",
    ],
)
async def test_redirect_from_an_allowed_host_to_a_refused_one(
    target: str, server: ImageServer, listeners: dict[str, Listener]
) -> None:
    location = quote(_fill(target, listeners), safe="")
    async with fetcher(allow="127.0.0.1", names=NAMES) as (f, transport):
        with pytest.raises(UrlRefused):
            await f.fetch(f"http://127.0.0.1:{server.port}/redirect?to={location}", max_bytes=10**6)
    assert [url.path for url in transport.sent] == ["/redirect"]
    assert len(server.requests) == 1
    assert all(not listener.accepted for listener in listeners.values())


# --- what is allowed, and how it is fetched ----------------------------------------------


async def test_allowlisted_loopback_image_is_fetched(server: ImageServer) -> None:
    async with fetcher(allow="127.0.0.1") as (f, _):
        data = await f.fetch(f"http://127.0.0.1:{server.port}/image.png", max_bytes=10**6)
    assert data == PNG


async def test_allowlist_by_name_and_by_range(server: ImageServer) -> None:
    names = {"assets.internal": ["127.0.0.1"]}
    url = f"http://assets.internal:{server.port}/image.png"
    for allow in ("Assets.Internal", "127.0.0.0/8", "other.host, 10.0.0.0/8,127.0.0.1/32"):
        async with fetcher(allow=allow, names=names) as (f, _):
            assert await f.fetch(url, max_bytes=10**6) == PNG
    async with fetcher(allow="assets.other,127.0.0.2", names=names) as (f, _):
        with pytest.raises(UrlRefused):
            await f.fetch(url, max_bytes=10**6)


async def test_connection_goes_to_the_vetted_address_with_the_real_host_header(
    server: ImageServer, listeners: dict[str, Listener]
) -> None:
    # A rebinding DNS server: the first answer is allowed, any later one is not. The
    # fetcher must connect to the address it vetted, not ask again.
    answers = iter([["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers, ["127.0.0.2"])

    async with fetcher(allow="127.0.0.1", resolver=rebinding) as (f, _):
        data = await f.fetch(f"http://cdn.example.test:{server.port}/image.png", max_bytes=10**6)
    assert data == PNG
    assert server.requests == [("/image.png", f"cdn.example.test:{server.port}")]
    assert listeners["127.0.0.2"].accepted == []


async def test_relative_redirects_are_followed_up_to_the_limit(server: ImageServer) -> None:
    async with fetcher(allow="127.0.0.1", max_redirects=3) as (f, _):
        assert await f.fetch(f"http://127.0.0.1:{server.port}/hop/3", max_bytes=10**6) == PNG


async def test_too_many_redirects_are_refused(server: ImageServer) -> None:
    async with fetcher(allow="127.0.0.1", max_redirects=3) as (f, _):
        with pytest.raises(UrlRefused, match="redirected more than 3 times"):
            await f.fetch(f"http://127.0.0.1:{server.port}/loop", max_bytes=10**6)
    assert len(server.requests) == 4  # the URL and three redirects, no fifth request


async def test_endless_body_is_cut_off_at_the_byte_cap(server: ImageServer) -> None:
    async with fetcher(allow="127.0.0.1") as (f, _):
        with pytest.raises(ImageTooLarge) as info:
            await f.fetch(f"http://127.0.0.1:{server.port}/endless", max_bytes=200_000, field="x")
    assert info.value.field == "x"
    # The server notices the hang-up on a later write; wait for that, not a fixed time.
    assert server.closed_early.wait(10), "the fetcher kept the connection open"


async def test_declared_length_over_the_cap_is_refused_before_reading(server: ImageServer) -> None:
    async with fetcher(allow="127.0.0.1") as (f, _):
        with pytest.raises(ImageTooLarge):
            await f.fetch(f"http://127.0.0.1:{server.port}/declared-huge", max_bytes=10**6)


async def test_slow_server_times_out(server: ImageServer) -> None:
    async with fetcher(allow="127.0.0.1", read_timeout=0.3) as (f, _):
        with pytest.raises(FetchFailed, match="did not answer in time") as info:
            await f.fetch(f"http://127.0.0.1:{server.port}/slow", max_bytes=10**6, field="y")
    assert info.value.field == "y"


async def test_http_error_status_fails_with_the_status(server: ImageServer) -> None:
    async with fetcher(allow="127.0.0.1") as (f, _):
        with pytest.raises(FetchFailed, match="HTTP 404"):
            await f.fetch(f"http://127.0.0.1:{server.port}/missing", max_bytes=10**6)


async def test_closed_port_and_unknown_name_fail_cleanly() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    async with fetcher(allow="127.0.0.1") as (f, _):
        with pytest.raises(FetchFailed, match="could not be fetched"):
            await f.fetch(f"http://127.0.0.1:{closed_port}/", max_bytes=1000)
        with pytest.raises(FetchFailed, match="could not be resolved"):
            await f.fetch("http://no-such-name.invalid/", max_bytes=1000)


# --- webhooks go through the same guard ------------------------------------------------


async def test_webhook_is_posted_to_an_allowed_address(server: ImageServer) -> None:
    async with fetcher(allow="127.0.0.1") as (f, _):
        status = await f.post_json(f"http://127.0.0.1:{server.port}/hook", {"id": "j1"})
    assert status == 204
    assert server.posted == [{"id": "j1"}]


async def test_webhook_redirects_are_not_followed(server: ImageServer) -> None:
    async with fetcher(allow="127.0.0.1") as (f, _):
        assert await f.post_json(f"http://127.0.0.1:{server.port}/moved", {"id": "j1"}) == 302
    assert [path for path, _ in server.requests] == ["/moved"]


@pytest.mark.parametrize(
    "template", ["http://127.0.0.2:{p2}/hook", "http://internal.example.org:{p2}/hook",
                 "http://169.254.169.254/hook", "http://[::1]:{p6}/hook"]
)
async def test_webhook_to_a_refused_address_is_never_sent(
    template: str, listeners: dict[str, Listener]
) -> None:
    async with fetcher(names=NAMES) as (f, transport):
        with pytest.raises(UrlRefused):
            await f.post_json(_fill(template, listeners), {"id": "j1"})
    _assert_no_connection(listeners, transport)


# --- the address policy on its own ------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8",
     "64:ff9b::808:808", "2002:808:808::1"],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_refused(ip_address(address))


@pytest.mark.parametrize(
    ("spelling", "address"),
    [("2130706433", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1"),
     ("127.1", "127.0.0.1"), ("0", "0.0.0.0"), ("[::1]", "::1"), ("134744072", "8.8.8.8")],
)
def test_ip_spellings_are_read_as_a_c_resolver_reads_them(spelling: str, address: str) -> None:
    assert literal_address(spelling) == ip_address(address)


@pytest.mark.parametrize(
    "name", ["example.com", "deadbeef.cafe", "0x7f.example", "1.2.3.4.5", "08.1"]
)
def test_host_names_are_not_addresses(name: str) -> None:
    assert literal_address(name) is None
