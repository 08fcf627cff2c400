"""HMAC-signed, expiring URLs: how a client reads a result without an API key.

The signature covers the blob key and the expiry together, so neither can be changed
without the other; the link is a capability for one blob until one moment.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from fitroom.errors import SignatureInvalid

# Bound into every signature so that a MAC made with this secret for some other purpose
# can never pass as a URL signature.
_PURPOSE = b"fitroom-blob-url-v1"


class UrlSigner:
    """Signs and verifies ``(key, expires)`` pairs with a server secret."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the signing secret must not be empty")
        self._secret = secret

    def sign(self, key: str, expires: int) -> str:
        """Hex HMAC-SHA256 of ``key`` and ``expires`` (a Unix time, in seconds)."""
        # The expiry is all digits, so the newline after it separates the two fields
        # unambiguously whatever the key contains.
        message = b"%s\n%d\n%s" % (_PURPOSE, expires, key.encode("utf-8"))
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def files_url(self, base_url: str, key: str, expires_in: int) -> str:
        """This server's ``/files`` URL for ``key``, valid for ``expires_in`` seconds."""
        expires = int(time.time()) + expires_in
        return f"{base_url.rstrip('/')}/files/{quote(key)}?expires={expires}&sig={self.sign(key, expires)}"

    def verify(self, key: str, expires: int, signature: str, *, now: float | None = None) -> None:
        """Raise ``SignatureInvalid`` unless ``signature`` is this server's for ``key`` and
        ``expires``, and ``expires`` is still in the future."""
        expected = self.sign(key, expires).encode("ascii")
        if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
            raise SignatureInvalid("the URL's signature is not valid")
        if (time.time() if now is None else now) >= expires:
            raise SignatureInvalid("the URL has expired")
