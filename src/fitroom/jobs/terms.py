"""What the queue needs to know of a vendor dialect, read from the dialect itself.

Dialects live in ``fitroom.api`` and describe themselves (``fitroom.api.dialect.Dialect``);
the service, the webhook sender and the runtime see them only through this protocol, so
nothing below ``api`` imports it and no table here is keyed by a dialect's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from fitroom.jobs.model import JobView

StatusBody = Callable[[JobView], dict[str, Any]]


class DialectTerms(Protocol):
    @property
    def name(self) -> str:
        """The name jobs record as their dialect."""
        ...

    @property
    def price_per_image(self) -> int:
        """Credits per output image unless ``FITROOM_PRICES`` says otherwise."""
        ...

    @property
    def status_body(self) -> StatusBody:
        """The body a client polling a job of this dialect receives."""
        ...

    @property
    def webhook_body(self) -> StatusBody | None:
        """The body POSTed to a job's webhook when it ends; None: no webhooks."""
        ...
