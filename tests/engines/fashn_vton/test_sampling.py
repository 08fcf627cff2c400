"""The sampler against the published FASHN VTON v1.5 inference loop (TryOnPipeline._sample).

Reference states come from the published loop on the committed small random model, with the
same initial noise; see scripts/make_vton_reference.py.
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from fitroom.engines.fashn_vton.model import TryOnModel
from fitroom.engines.fashn_vton.sampling import count_forwards, sample, time_schedule
from tests.engines.fashn_vton.references import FIXTURES
from tests.engines.fashn_vton.references import model_reference as reference
from tests.engines.fashn_vton.references import model_tensors as tensors

INPUT_NAMES = ("person", "person_pose", "garment", "garment_pose", "category")


@cache
def small_model(dtype: torch.dtype = torch.float32) -> TryOnModel:
    model = TryOnModel.from_config(reference()["small_arch"]).eval()
    model.load_state_dict(load_file(FIXTURES / "small.safetensors"), strict=True)
    return model.to(dtype)


def inputs() -> dict[str, Any]:
    return {name: tensors()[f"inputs.{name}"] for name in INPUT_NAMES}


def run(combo: dict[str, Any], noise: torch.Tensor | None = None, **overrides: Any) -> torch.Tensor:
    kwargs: dict[str, Any] = {
        "steps": combo["steps"],
        "guidance_scale": combo["guidance_scale"],
        "skip_cfg_last_n_steps": combo["skip_cfg_last_n_steps"],
        "time_shift_mu": combo["time_shift_mu"],
        **inputs(),
        **overrides,
    }
    return sample(small_model(), tensors()["noise"] if noise is None else noise, **kwargs)


COMBOS = reference()["combos"]
TYPICAL = next(c for c in COMBOS if c["steps"] == 4)


@pytest.mark.parametrize("combo", COMBOS, ids=[c["key"] for c in COMBOS])
def test_sampler_matches_published(combo: dict[str, Any]) -> None:
    expected = tensors()[f"sample.{combo['key']}"]
    out = run(combo)
    assert (out - expected).abs().max().item() < 1e-4


def test_bfloat16_sampler_matches_published() -> None:
    combo = reference()["bf16_combo"]
    noise = tensors()["bf16.noise"]
    out = sample(
        small_model(torch.bfloat16),
        noise,
        steps=combo["steps"],
        guidance_scale=combo["guidance_scale"],
        skip_cfg_last_n_steps=combo["skip_cfg_last_n_steps"],
        time_shift_mu=combo["time_shift_mu"],
        **inputs(),
    )
    expected = tensors()[f"bf16.sample.{combo['key']}"]
    assert out.dtype == torch.bfloat16
    assert (out.float() - expected.float()).abs().max().item() < 5e-2


@pytest.mark.parametrize("key", sorted(reference()["schedules"]))
def test_schedule_matches_published(key: str) -> None:
    steps, mu = key.split("_mu")
    ours = time_schedule(int(steps), float(mu))
    published = reference()["schedules"][key]
    assert len(ours) == len(published) == int(steps) + 1
    assert max(abs(a - b) for a, b in zip(ours, published, strict=True)) < 1e-6
    assert ours[0] == 0.0 and ours[-1] == 1.0
    assert all(a < b for a, b in itertools.pairwise(ours))


def test_schedule_spends_more_steps_near_noise() -> None:
    times = time_schedule(10, 1.5)
    sizes = [b - a for a, b in itertools.pairwise(times)]
    assert sizes == sorted(sizes)  # small steps near t = 0 (noise), large ones near the image
    assert times[5] < 0.2
    assert time_schedule(4, 0.0) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_returns_noise_shape_and_dtype_unclamped() -> None:
    noise = tensors()["noise"]
    out = run(TYPICAL)
    assert out.shape == noise.shape and out.dtype == noise.dtype and out.device == noise.device
    assert out.abs().max().item() > 1.0  # random weights overshoot [-1, 1]; nothing clipped them


def test_same_noise_same_output_and_noise_untouched() -> None:
    noise = tensors()["noise"]
    before = noise.clone()
    first, second = run(TYPICAL, noise), run(TYPICAL, noise.clone())
    assert torch.equal(first, second)
    assert torch.equal(noise, before)


def test_batch_equals_each_sample_alone() -> None:
    """Elements of a batch do not interact, so the engine may batch requests."""
    noise, batch_out = tensors()["noise"], run(TYPICAL)
    for i in range(noise.shape[0]):
        alone = run(TYPICAL, noise[i : i + 1], **{k: v[i : i + 1] for k, v in inputs().items()})
        assert (alone[0] - batch_out[i]).abs().max().item() < 1e-5


def test_progress_reports_every_step() -> None:
    seen: list[int] = []
    run(dict(TYPICAL, steps=3), progress=seen.append)
    assert seen == [0, 1, 2]


def test_unguided_steps_run_the_conditional_branch_only(monkeypatch: pytest.MonkeyPatch) -> None:
    model = small_model()
    calls: list[str] = []
    forward_cfg = model.forward_cfg

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append("cfg")
        return forward_cfg(*args, **kwargs)

    monkeypatch.setattr(model, "forward_cfg", spy)
    run(dict(TYPICAL, steps=5, guidance_scale=2.0, skip_cfg_last_n_steps=2))
    assert calls == ["cfg"] * 3
    calls.clear()
    run(dict(TYPICAL, steps=3, guidance_scale=1.0))
    assert calls == []
    assert count_forwards(30, 1.5) == (29, 1)
    assert count_forwards(30, 1.5, 0) == (30, 0)
    assert count_forwards(2, 1.5, 5) == (0, 2)
    assert count_forwards(20, 1.0) == (0, 20)


def test_float32_state_with_bfloat16_model() -> None:
    """A float32 state may drive a bf16 model: the model computes in bf16, the update in float32."""
    noise = tensors()["noise"]
    out = sample(small_model(torch.bfloat16), noise, steps=2, guidance_scale=1.5, **inputs())
    assert out.dtype == torch.float32
    reference_out = run(dict(TYPICAL, steps=2, guidance_scale=1.5, skip_cfg_last_n_steps=1, time_shift_mu=1.5))
    assert (out - reference_out).abs().max().item() < 0.2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"steps": 0}, "steps"),
        ({"skip_cfg_last_n_steps": -1}, "skip_cfg_last_n_steps"),
        ({"category": torch.tensor([1, 4])}, "category labels"),
        ({"category": torch.tensor([0, 1])}, "category labels"),
        ({"category": torch.tensor([1])}, "category must have shape"),
    ],
)
def test_bad_arguments_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run(TYPICAL, **overrides)


def test_wrong_noise_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="noise must have shape"):
        run(TYPICAL, tensors()["noise"][:, :, :16])
