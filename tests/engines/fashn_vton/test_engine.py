"""The fashn-vton-1.5 engine on the CPU with a tiny random model and stand-in DWPose
models: what it needs, what it honours, seeds, batches, sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fitroom.engines.base import EngineRequest
from fitroom.engines.fashn_vton.engine import FashnVtonEngine, steps_for
from fitroom.engines.fashn_vton.pipeline import HumanParsing, agnostic_mask
from fitroom.engines.fashn_vton.standin import write_standin_weights
from fitroom.options import Effort, PhotoType, Region, TryOnOptions
from fitroom.settings import Settings
from tests.helpers import astronaut, drawn_tshirt


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_standin_weights(tmp_path_factory.mktemp("vton") / "weights")


@pytest.fixture(scope="module")
def engine(weights: Path) -> FashnVtonEngine:
    engine = FashnVtonEngine(Settings(vton_weights=weights, vton_device="cpu"))
    engine.warm_up()
    return engine


def request(seed: int = 7, **options: object) -> EngineRequest:
    return EngineRequest(
        images={"person": astronaut(), "garment": drawn_tshirt()},
        options=TryOnOptions(seed=seed, **options),  # type: ignore[arg-type]
    )


def test_without_weights_the_engine_says_what_is_missing_and_how_to_fetch_it(tmp_path: Path) -> None:
    unset = FashnVtonEngine.missing(Settings(vton_weights=None))
    assert unset is not None and "FITROOM_VTON_WEIGHTS is not set" in unset
    assert "scripts/download_weights.py --weights-dir" in unset

    empty = FashnVtonEngine.missing(Settings(vton_weights=tmp_path))
    assert empty is not None
    for name in ("model.safetensors", "dwpose/yolox_l.onnx", "dwpose/dw-ll_ucoco_384.onnx"):
        assert str(tmp_path / name) in empty


def test_with_weights_it_is_ready_on_the_cpu_here(weights: Path) -> None:
    settings = Settings(vton_weights=weights)
    assert FashnVtonEngine.missing(settings) is None
    assert FashnVtonEngine.devices(settings) == ["cpu"]  # no GPU on this machine
    refused = FashnVtonEngine.missing(Settings(vton_weights=weights, vton_device="cuda"))
    assert refused is not None and "no CUDA GPU" in refused


def test_the_same_seed_gives_the_same_image_and_another_seed_another(engine: FashnVtonEngine) -> None:
    first = engine.run(request(seed=7)).images[0]
    again = engine.run(request(seed=7)).images[0]
    other = engine.run(request(seed=8)).images[0]
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 1


def test_a_batch_gives_each_job_what_it_gets_alone(engine: FashnVtonEngine) -> None:
    alone = [engine.run(request(seed=seed)).images[0] for seed in (11, 12)]
    together = engine.run_batch([request(seed=11), request(seed=12)])
    for single, batched in zip(alone, together, strict=True):
        assert not isinstance(batched, Exception)
        assert np.abs(single.astype(int) - batched.images[0].astype(int)).max() <= 1
        assert batched.metadata["batch_images"] == 2


def test_the_result_has_the_person_photo_size_and_is_not_the_input(engine: FashnVtonEngine) -> None:
    person = np.ascontiguousarray(astronaut()[:, 64:448])  # 512 high, 384 wide
    result = engine.run(EngineRequest(images={"person": person, "garment": drawn_tshirt()}, options=TryOnOptions()))
    image = result.images[0]
    assert image.shape == person.shape and image.dtype == np.uint8
    assert np.abs(image.astype(int) - person.astype(int)).mean() > 10


def test_samples_are_distinct_images_of_one_job(engine: FashnVtonEngine) -> None:
    result = engine.run(request(num_outputs=2))
    assert len(result.images) == 2
    assert not np.array_equal(result.images[0], result.images[1])


def test_options_map_onto_the_model_and_the_rest_is_reported_not_applied(engine: FashnVtonEngine) -> None:
    assert steps_for(TryOnOptions(effort=Effort.FAST)) == 20
    assert steps_for(TryOnOptions(effort=Effort.BALANCED)) == 30
    assert steps_for(TryOnOptions(effort=Effort.QUALITY)) == 50
    assert steps_for(TryOnOptions(effort=Effort.QUALITY, extras={"steps": 12})) == 12  # r-vton's own field

    meta = engine.run(
        request(
            region=Region.LOWER,
            photo_type=PhotoType.FLAT_LAY,
            effort=Effort.FAST,
            crop=True,
            extras={"segmentation_free": False, "moderation_level": "permissive"},
        )
    ).metadata
    assert meta["applied"]["category"] == "bottoms"
    assert meta["applied"]["garment_photo_type"] == "flat-lay"
    assert meta["applied"]["steps"] == 20
    assert meta["garment_segmentation"] == "none (flat-lay photo used whole)"
    # No human parser here: masking the person cannot be honoured, and says so.
    assert "human parser" in meta["not_applied"]["segmentation_free"]
    assert meta["person_input"] == "segmentation-free"
    assert set(meta["not_applied"]) >= {"crop", "moderation_level", "segmentation_free"}


def test_auto_category_and_photo_type_come_from_the_cpu_garment_analysis(engine: FashnVtonEngine) -> None:
    meta = engine.run(request()).metadata  # region and photo type auto
    assert meta["applied"]["category"] == "tops"
    assert meta["applied"]["garment_photo_type"] == "flat-lay"


def test_the_agnostic_mask_hides_the_garment_region_and_never_the_face() -> None:
    ids = {"background": 0, "face": 1, "hair": 2, "top": 3, "pants": 6, "arms": 12, "hands": 13, "legs": 14,
           "feet": 15, "torso": 16, "hat": 9}  # fmt: skip
    parsing = HumanParsing(
        parser=None,  # type: ignore[arg-type]  # the labels are given below
        ids=ids,
        garment_labels={1: ("top",), 2: ("pants",), 3: ("top", "pants")},
        identity_labels=("face", "hair", "hat"),
    )
    labels = np.zeros((864, 576), np.int64)
    labels[40:160, 230:350] = ids["face"]
    labels[20:40, 230:350] = ids["hair"]
    labels[180:480, 180:400] = ids["top"]
    labels[200:460, 120:180] = ids["arms"]
    labels[460:500, 110:170] = ids["hands"]
    labels[480:800, 200:380] = ids["legs"]

    tops = agnostic_mask(labels, 1, parsing)
    assert tops[labels == ids["top"]].all() and tops[labels == ids["arms"]].all()
    assert not tops[labels == ids["face"]].any() and not tops[labels == ids["hair"]].any()
    # Hands stay for a top, but for the published few-pixel buffer round what is hidden.
    assert not tops[470:500, 110:170].any() and tops[460:462, 130:170].all()
    assert not tops[600:800, 200:380].any()  # legs stay for a top
    assert tops[175:180, 200:380].all()  # and the rim of the garment is covered too

    bottoms = agnostic_mask(labels, 2, parsing)
    assert not bottoms[labels == ids["arms"]].any()  # arms stay for bottoms
    assert bottoms[labels == ids["legs"]].all()
    assert not agnostic_mask(np.zeros((100, 80), np.int64), 1, parsing).any()
