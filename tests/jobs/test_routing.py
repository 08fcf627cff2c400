"""Routes: which engine a job is recorded with at submit, from configuration."""

from __future__ import annotations

import pytest

from fitroom.jobs.routing import Router
from fitroom.options import JobKind
from fitroom.settings import Settings

DIALECTS = ("rvton", "glasses", "fashn_gateway", "pixelcut", "fashn")
TEST_ENGINES = ["fitroom.engines.testing.engine"]


def router(**settings) -> Router:
    return Router(Settings(engine_modules=TEST_ENGINES, **settings), DIALECTS)


def test_without_routes_every_kind_goes_to_its_cpu_engine() -> None:
    r = router()
    assert r.engine_for("fashn", JobKind.CLOTHING) == "cpu-clothing"
    assert r.engine_for("glasses", JobKind.GLASSES) == "cpu-glasses"
    assert r.engine_for("fashn", JobKind.BACKGROUND_REMOVE) == "cpu-cutout"


def test_a_dialect_route_wins_over_a_kind_route_for_that_dialect_only() -> None:
    r = router(routes="clothing=test-a,fashn:clothing=test-b")
    assert r.engine_for("fashn", JobKind.CLOTHING) == "test-b"
    assert r.engine_for("rvton", JobKind.CLOTHING) == "test-a"
    assert r.engine_for("fashn", JobKind.BACKGROUND_REMOVE) == "cpu-cutout"
    assert r.engines() >= {"test-a", "test-b", "cpu-clothing", "cpu-glasses", "cpu-cutout"}


def test_the_older_per_kind_engine_settings_still_route() -> None:
    assert router(clothing_engine="test-a").engine_for("pixelcut", JobKind.CLOTHING) == "test-a"
    # An explicit route wins over the older setting.
    both = router(clothing_engine="test-a", routes={"clothing": "test-b"})
    assert both.engine_for("pixelcut", JobKind.CLOTHING) == "test-b"


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ({"clothing": "nope"}, "no engine named 'nope'"),
        ({"glasses": "cpu-clothing"}, "cpu-clothing serves clothing jobs, not glasses"),
        ({"shoes": "cpu-clothing"}, "'shoes' is not a job kind"),
        ({"acme:clothing": "cpu-clothing"}, "'acme' is not a dialect"),
    ],
)
def test_a_bad_route_is_refused_with_what_is_wrong(routes: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        router(routes=routes)
