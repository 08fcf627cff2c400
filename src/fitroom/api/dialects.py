"""The five vendor dialects served by the app, in routing order."""

from __future__ import annotations

from fitroom.api import fashn, fashn_gateway, glasses, pixelcut, rvton
from fitroom.api.dialect import Dialect

DIALECTS: tuple[Dialect, ...] = (
    rvton.dialect,
    glasses.dialect,
    fashn_gateway.dialect,
    pixelcut.dialect,
    fashn.dialect,
)
