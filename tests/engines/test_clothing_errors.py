"""Each way a try-on cannot work is a named error the dialects can map."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.errors import (
    EngineError,
    InvalidParameter,
    NoGarmentFound,
    NoPersonFound,
    RegionNotVisible,
)
from fitroom.options import Region, TryOnOptions
from tests.engines.test_clothing_geometry import draw_tee, draw_trousers


@pytest.fixture(scope="module")
def engine():
    return registry.get("cpu-clothing")


def test_no_person_in_an_empty_room(engine):
    empty = np.full((600, 450, 3), 180, np.uint8)
    with pytest.raises(NoPersonFound) as info:
        engine.run(EngineRequest(images={"person": empty, "garment": draw_tee()}))
    assert info.value.code == "no_person_found"


def test_no_garment_on_a_blank_photo(engine):
    blank = np.full((600, 480, 3), 255, np.uint8)
    with pytest.raises(NoGarmentFound) as info:
        engine.run(EngineRequest(images={"person": data.astronaut(), "garment": blank}))
    assert info.value.code == "no_garment_found"


def test_trousers_on_a_head_and_shoulders_photo(engine):
    with pytest.raises(RegionNotVisible) as info:
        engine.run(
            EngineRequest(
                images={"person": data.astronaut(), "garment": draw_trousers()},
                options=TryOnOptions(region=Region.LOWER),
            )
        )
    assert info.value.code == "region_not_visible"


def test_auto_recognises_trousers_and_refuses_them_too(engine):
    with pytest.raises(RegionNotVisible):
        engine.run(EngineRequest(images={"person": data.astronaut(), "garment": draw_trousers()}))


def test_errors_are_engine_errors_and_missing_inputs_are_input_errors(engine):
    assert issubclass(NoPersonFound, EngineError) and issubclass(RegionNotVisible, EngineError)
    with pytest.raises(InvalidParameter):
        engine.run(EngineRequest(images={"person": data.astronaut()}))
