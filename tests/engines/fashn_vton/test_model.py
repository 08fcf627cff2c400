"""TryOnModel against the published FASHN VTON v1.5 model.

The reference outputs in tests/fixtures/fashn_vton come from the published code itself
(scripts/make_vton_reference.py), run on small random weights that are committed alongside.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from fitroom.engines.fashn_vton.model import ARCH_KEYS, TryOnModel, timestep_embedding
from tests.engines.fashn_vton.references import FIXTURES
from tests.engines.fashn_vton.references import model_reference as reference
from tests.engines.fashn_vton.references import model_tensors as tensors

CONDITION_NAMES = ("person", "person_pose", "garment", "garment_pose")


def load_model(which: str, dtype: torch.dtype = torch.float32) -> TryOnModel:
    model = TryOnModel.from_config(reference()[f"{which}_arch"]).eval()
    model.load_state_dict(load_file(FIXTURES / f"{which}.safetensors"), strict=True)
    return model.to(dtype)


def small_inputs() -> dict[str, torch.Tensor]:
    return {name: tensors()[f"inputs.{name}"] for name in (*CONDITION_NAMES, "category")}


def variant_inputs() -> dict[str, torch.Tensor]:
    return {name: tensors()[f"variant.inputs.{name}"] for name in CONDITION_NAMES}


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape
    return (a.float() - b.float()).abs().max().item()


# Same operations in the same order: on one machine the outputs are bit-identical; the
# tolerance only leaves room for other CPUs' kernels.
ATOL = 1e-5


@pytest.mark.parametrize("which", ["small", "variant"])
def test_published_weights_load_strictly(which: str) -> None:
    weights = load_file(FIXTURES / f"{which}.safetensors")
    model = TryOnModel.from_config(reference()[f"{which}_arch"])
    result = model.load_state_dict(weights, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {k: tuple(v.shape) for k, v in weights.items()}


def test_forward_matches_published() -> None:
    model, t = load_model("small"), tensors()
    with torch.inference_mode():
        out = model(t["forward.x"], t["forward.t"], **small_inputs())
    assert out.shape == t["forward.out"].shape
    assert max_diff(out, t["forward.out"]) < ATOL


def test_forward_cfg_matches_published() -> None:
    model, t = load_model("small"), tensors()
    with torch.inference_mode():
        cond, uncond = model.forward_cfg(t["forward.x"], t["forward.t"], **small_inputs())
    assert max_diff(cond, t["forward_cfg.cond"]) < ATOL
    assert max_diff(uncond, t["forward_cfg.uncond"]) < ATOL
    # The null condition really changes the prediction.
    assert max_diff(cond, uncond) > 1e-2


def test_condition_drop_mask_matches_published() -> None:
    model, t = load_model("small"), tensors()
    with torch.inference_mode():
        out = model(t["forward.x"], t["forward.t"], keep_condition=t["forward_masked.keep"], **small_inputs())
    assert max_diff(out, t["forward_masked.out"]) < ATOL


def test_null_condition_is_zero_images_and_label_zero() -> None:
    model, t = load_model("small"), tensors()
    inputs = small_inputs()
    nulled = {name: torch.zeros_like(value) for name, value in inputs.items()}
    with torch.inference_mode():
        dropped = model(t["forward.x"], t["forward.t"], keep_condition=torch.tensor([False, False]), **inputs)
        explicit = model(t["forward.x"], t["forward.t"], **nulled)
        kept = model(t["forward.x"], t["forward.t"], keep_condition=torch.tensor([True, True]), **inputs)
        plain = model(t["forward.x"], t["forward.t"], **inputs)
    assert torch.equal(dropped, explicit)
    assert torch.equal(kept, plain)


def test_variant_switches_match_published() -> None:
    """Guidance embedding on; patch mixer, category embedding and qkv bias off; another theta."""
    model, t = load_model("variant"), tensors()
    assert model.y_embedder is None and len(model.x_patch_mixer) == 0
    with torch.inference_mode():
        out = model(
            t["variant.forward.x"], t["variant.forward.t"], guidance=t["variant.forward.guidance"], **variant_inputs()
        )
        cond, uncond = model.forward_cfg(
            t["variant.forward.x"], t["variant.forward.t"], guidance=t["variant.forward.guidance"], **variant_inputs()
        )
    assert max_diff(out, t["variant.forward.out"]) < ATOL
    assert max_diff(cond, t["variant.forward_cfg.cond"]) < ATOL
    assert max_diff(uncond, t["variant.forward_cfg.uncond"]) < ATOL


def test_bfloat16_forward_matches_published() -> None:
    """Same casts as the published model (time rounded to bf16, norms and rotary in float32)."""
    model, t = load_model("small", torch.bfloat16), tensors()
    with torch.inference_mode():
        out = model(t["forward.x"].bfloat16(), t["forward.t"].bfloat16(), **small_inputs())
    assert out.dtype == torch.bfloat16
    assert max_diff(out, t["bf16.forward.out"]) < 2e-2


def test_time_features_match_published_in_both_dtypes() -> None:
    """In bf16 the time is quantised before the sinusoids, exactly as in the published model;
    computing the features from the float32 time instead would move them by O(1)."""
    t = tensors()
    times = t["time_embedding.t"]
    # The sinusoids' arguments reach 1000, where one float32 step is 6e-5: CPUs whose
    # vector units take different sin/cos routes (AVX2, AVX-512) differ by that much.
    assert max_diff(timestep_embedding(times), t["time_embedding.float32"]) < 1e-4
    ours = timestep_embedding(times.to(torch.bfloat16))
    assert ours.dtype == torch.bfloat16
    assert max_diff(ours, t["bf16.time_embedding"]) < 1e-2


def test_float32_inputs_are_cast_to_the_model_dtype() -> None:
    model, t = load_model("small", torch.bfloat16), tensors()
    with torch.inference_mode():
        from_f32 = model(t["forward.x"], t["forward.t"], **small_inputs())
        from_bf16 = model(t["forward.x"].bfloat16(), t["forward.t"].bfloat16(), **small_inputs())
    assert torch.equal(from_f32, from_bf16)


def test_default_architecture_has_the_published_state_dict() -> None:
    published = json.loads((FIXTURES / "default_state_dict.json").read_text())
    with torch.device("meta"):
        model = TryOnModel()
    ours = [(name, list(value.shape)) for name, value in model.state_dict().items()]
    assert len(ours) == len(published["entries"]) == 366
    assert sorted(ours) == sorted((name, shape) for name, shape in published["entries"])
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == published["parameters"]
    assert round(n_params / 1e6, 1) == 971.8
    assert "patch_mixer_token" in model.state_dict()


def test_default_attributes() -> None:
    with torch.device("meta"):
        model = TryOnModel()
    assert model.input_shape == (864, 576)
    assert model.channels_in == 3
    assert model.patch_size == 12
    assert model.grid_shape == (72, 48)
    assert model.n_classes == 3
    assert set(model.arch) == set(ARCH_KEYS)


def test_config_round_trips_through_json() -> None:
    model = TryOnModel.from_config(reference()["small_arch"])
    again = TryOnModel.from_config(json.loads(json.dumps(model.arch)))
    assert again.arch == model.arch
    assert again.input_shape == (32, 24) and again.axes_dim == (2, 4, 6)


def test_unknown_config_keys_are_refused() -> None:
    config = dict(reference()["small_arch"], hiden_size=64, dropout=0.1)
    with pytest.raises(ValueError, match=r"unknown TryOnModel config keys \['dropout', 'hiden_size'\]"):
        TryOnModel.from_config(config)
    with pytest.raises(TypeError):
        TryOnModel.from_config([("hidden_size", 64)])  # type: ignore[arg-type]


def test_inconsistent_architecture_is_refused() -> None:
    with pytest.raises(ValueError, match="axes_dim"):
        TryOnModel(hidden_size=64, n_heads=2, axes_dim=(8, 8, 8))
    with pytest.raises(ValueError, match="patch_size"):
        TryOnModel(input_shape=(30, 24), hidden_size=24, n_heads=2, axes_dim=(2, 4, 6), patch_size=4)


def test_wrong_input_shapes_and_missing_inputs_are_refused() -> None:
    model, t = load_model("small"), tensors()
    inputs = small_inputs()
    with pytest.raises(ValueError, match="person_pose must have shape"):
        model(t["forward.x"], t["forward.t"], **dict(inputs, person_pose=inputs["person"]))
    with pytest.raises(ValueError, match="x must have shape"):
        model(t["forward.x"][..., :-4], t["forward.t"], **inputs)
    with pytest.raises(ValueError, match="t must have shape"):
        model(t["forward.x"], t["forward.t"][0], **inputs)
    with pytest.raises(ValueError, match="category"):
        model(t["forward.x"], t["forward.t"], **dict(inputs, category=None))
    variant = load_model("variant")
    with pytest.raises(ValueError, match="guidance"):
        variant(t["variant.forward.x"], t["variant.forward.t"], **variant_inputs())
