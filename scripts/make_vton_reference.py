"""Write the FASHN VTON reference fixtures by running the *published* implementation.

    python scripts/make_vton_reference.py --published /path/to/fashn-vton-1.5/src \
        --out tests/fixtures/fashn_vton

The published code is imported from ``--published`` (never copied into this repository). It
needs torch and einops, which our own code does not use, so run this with an interpreter that
has them, e.g. a throwaway venv::

    python3 -m venv /tmp/refenv && /tmp/refenv/bin/pip install torch==2.13.0 einops safetensors numpy

Only the model, the schedule and the sampling loop are exercised; the packages the rest of
the published pipeline imports (torchvision, PIL, OpenCV, the human parser, DWPose, tqdm) are
replaced by inert stand-ins in ``sys.modules`` before anything is imported.

Outputs (all small):

* ``small.safetensors`` / ``variant.safetensors``: random weights of two small architectures.
  "small" has every part the published checkpoint has (patch mixer, category embedding, qkv
  bias); "variant" covers the remaining switches (guidance embedding, no patch mixer, no
  category embedding, no qkv bias, another theta, a non-square patch grid).
* ``tensors.safetensors``: inputs, initial noise, and the published outputs: single forwards
  (plain, with a condition-drop mask, the CFG pair), sampler runs for several (steps, guidance,
  skip-CFG, mu) combinations in float32, and one forward and one sampler run in bfloat16.
* ``reference.json``: the published commit, both architectures, the combinations, the
  published schedules, and the key names in ``tensors.safetensors``.
* ``default_state_dict.json``: (name, shape) of every state-dict entry of the published-size
  model, built on the meta device (no weights).

Sampler outputs are the unclamped final states. They come from a replica of the published
loop (its ``forward_for_cfg`` and ``get_rf_schedule``), and the script checks that replica
against the published ``TryOnPipeline._sample`` itself, run on a stand-in pipeline object with
the same seed: the clamped states must be bit-identical, or nothing is written.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.machinery
import itertools
import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

PUBLISHED_REPO = "fashn-AI/fashn-vton-1.5"
KNOWN_COMMIT = "7c0f10af3f91ad4048fe9729c470a13ef905d25a"

SMALL_ARCH: dict[str, Any] = {
    "input_shape": [32, 24],
    "hidden_size": 24,
    "n_heads": 2,
    "double_blocks_depth": 2,
    "single_blocks_depth": 2,
    "mlp_ratio": 2,
    "channels_in": 3,
    "patch_size": 4,
    "theta": 10000,
    "axes_dim": [2, 4, 6],
    "qkv_bias": True,
    "guidance_embed": False,
    "n_classes": 3,
    "use_patch_mixer": True,
    "patch_mixer_depth": 1,
}
VARIANT_ARCH: dict[str, Any] = {
    "input_shape": [24, 40],
    "hidden_size": 16,
    "n_heads": 2,
    "double_blocks_depth": 1,
    "single_blocks_depth": 1,
    "mlp_ratio": 4,
    "channels_in": 3,
    "patch_size": 4,
    "theta": 1000,
    "axes_dim": [2, 2, 4],
    "qkv_bias": False,
    "guidance_embed": True,
    "n_classes": 0,
    "use_patch_mixer": False,
    "patch_mixer_depth": 0,
}
# (steps, guidance_scale, skip_cfg_last_n_steps, time_shift_mu)
COMBOS: list[tuple[int, float, int, float]] = [
    (1, 1.5, 1, 1.5),
    (2, 1.0, 1, 1.5),
    (3, 2.0, 1, 0.5),
    (4, 2.5, 1, 1.5),
    (5, 1.5, 0, 1.5),
    (6, 3.0, 2, 1.5),
    (30, 1.5, 1, 1.5),
]
BF16_COMBO = (4, 2.5, 1, 1.5)
SCHEDULE_STEPS = [1, 2, 3, 4, 5, 6, 10, 20, 30, 50]
BATCH = 2
CATEGORIES = [1, 3]
SEED_WEIGHTS, SEED_INPUTS, SEED_NOISE = 1234, 99, 7


def combo_key(steps: int, guidance: float, skip: int, mu: float) -> str:
    return f"steps{steps}_g{guidance}_skip{skip}_mu{mu}"


# ---------------------------------------------------------------------------------------------
# Importing the published code


def _module(name: str, **attrs: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    # A spec, so that importlib.util.find_spec (which torch itself calls) accepts the stand-in.
    module.__spec__ = importlib.machinery.ModuleSpec(name, loader=None, is_package="__path__" in attrs)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


class _Inert:
    """Stands in for any class or function the stubbed packages export; fails loudly if used."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a stubbed dependency of the published pipeline was used")


def import_published(src: Path) -> tuple[types.ModuleType, types.ModuleType, types.ModuleType]:
    """(tryon_mmdit, utils.sampling, pipeline) modules of the published package under ``src``."""
    package_dir = src / "fashn_vton"
    if not (package_dir / "tryon_mmdit.py").is_file():
        raise SystemExit(f"{package_dir}/tryon_mmdit.py not found: --published must be the checkout's src/ folder")

    # Packages the model and sampler never use.
    _module("torchvision")
    _module("torchvision.transforms")
    _module("torchvision.transforms.functional", to_pil_image=_Inert)
    _module("PIL", Image=_module("PIL.Image", Image=_Inert))
    _module("cv2", INTER_NEAREST_EXACT=0)
    _module("fashn_human_parser", CATEGORY_TO_BODY_COVERAGE={}, FashnHumanParser=_Inert)
    _module("tqdm")
    _module("tqdm.auto", tqdm=lambda iterable, **_: iterable)
    # The package __init__ imports the whole pipeline; register the package without running it,
    # and stand in for its pose and preprocessing subpackages.
    _module("fashn_vton", __path__=[str(package_dir)])
    _module("fashn_vton.dwpose", DWposeDetector=_Inert, draw_pose=_Inert)
    _module(
        "fashn_vton.preprocessing",
        BODY_COVERAGE_TO_FASHN_LABELS={},
        FASHN_LABELS_TO_IDS={},
        AspectPreserveResize=_Inert,
        ResizePad=_Inert,
        create_clothing_agnostic_image=_Inert,
        create_garment_image=_Inert,
    )
    mmdit = importlib.import_module("fashn_vton.tryon_mmdit")
    sampling = importlib.import_module("fashn_vton.utils.sampling")
    pipeline = importlib.import_module("fashn_vton.pipeline")
    # _sample ends by turning each clamped image into PIL; keep the tensors instead.
    pipeline.tensor_to_pil = lambda img, unnormalize=False: img  # type: ignore[attr-defined]
    return mmdit, sampling, pipeline


def published_commit(src: Path, fallback: str) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=30
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return fallback


# ---------------------------------------------------------------------------------------------
# Building models and inputs


def build_published(mmdit: types.ModuleType, arch: dict[str, Any], seed: int) -> Any:
    """The published model at ``arch``, with every entry of its state dict random.

    The default init leaves RMSNorm gains at 1 and patch-embedding biases at 0, which would
    let a mishandled gain or bias go unnoticed, so gains and biases are perturbed too.
    """
    kwargs = dict(arch, input_shape=tuple(arch["input_shape"]), axes_dim=tuple(arch["axes_dim"]))
    torch.manual_seed(seed)
    model = mmdit.TryOnModel(**kwargs).eval()
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            noise = torch.randn(tensor.shape, generator=generator)
            if name.endswith(".scale"):
                tensor.copy_(1.0 + 0.2 * noise)
            elif name.endswith(".bias") or name == "patch_mixer_token":
                tensor.copy_(0.1 * noise)
    return model


def make_inputs(arch: dict[str, Any], seed: int) -> dict[str, torch.Tensor]:
    h, w = arch["input_shape"]
    c = arch["channels_in"]
    generator = torch.Generator().manual_seed(seed)

    def image(channels: int) -> torch.Tensor:
        return torch.rand((BATCH, channels, h, w), generator=generator) * 2 - 1

    def skeleton() -> torch.Tensor:  # mostly background (-1) with bright strokes (+1), like a drawn pose
        return torch.where(torch.rand((BATCH, 1, h, w), generator=generator) < 0.15, 1.0, -1.0)

    return {
        "person": image(c),
        "person_pose": skeleton(),
        "garment": image(c),
        "garment_pose": skeleton(),
        "category": torch.tensor(CATEGORIES, dtype=torch.long),
    }


def published_kwargs(inputs: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Our input names -> the published forward's keyword names."""
    return {
        "ca_images": inputs["person"].to(dtype),
        "person_poses": inputs["person_pose"].to(dtype),
        "garment_images": inputs["garment"].to(dtype),
        "garment_poses": inputs["garment_pose"].to(dtype),
        "garment_categories": inputs["category"],
    }


# ---------------------------------------------------------------------------------------------
# The published sampling loop


@torch.inference_mode()
def replica_sample(
    model: Any,
    sampling: types.ModuleType,
    noise: torch.Tensor,
    kwargs: dict[str, torch.Tensor],
    steps: int,
    guidance: float,
    skip: int,
    mu: float,
) -> torch.Tensor:
    """The published Euler/CFG arithmetic, step for step, returning the state before its final clamp.

    Uses the published schedule and ``forward_for_cfg``; the guidance mix and the update are
    written as the published loop evaluates them, so the result is bit-identical to it (which
    ``checked_sample`` verifies).
    """
    state = noise.clone()
    times = sampling.get_rf_schedule(num_steps=steps, mu=mu)
    for index, (t_now, t_next) in enumerate(itertools.pairwise(times)):
        out = model.forward_for_cfg(state, torch.full((noise.shape[0],), t_now, dtype=noise.dtype), **kwargs)
        cond, uncond = out["v_c"], out["v_u"]
        unguided = skip > 0 and index >= steps - skip
        velocity = cond if unguided else uncond + guidance * (cond - uncond)
        state = state + (t_next - t_now) * velocity
    return state


def published_sample(
    pipeline: types.ModuleType,
    model: Any,
    seed: int,
    kwargs: dict[str, torch.Tensor],
    steps: int,
    guidance: float,
    skip: int,
    mu: float,
) -> torch.Tensor:
    """``TryOnPipeline._sample`` itself on a stand-in pipeline; its noise comes from ``seed``."""
    stand_in = types.SimpleNamespace(tryon_model=model)
    torch.manual_seed(seed)
    images = pipeline.TryOnPipeline._sample(
        stand_in,
        num_timesteps=steps,
        time_shift_mu=mu,
        guidance_scale=guidance,
        skip_cfg_last_n_steps=skip,
        use_tqdm=False,
        **kwargs,
    )
    return torch.stack(images)


def draw_noise(arch: dict[str, Any], seed: int, dtype: torch.dtype) -> torch.Tensor:
    """The noise ``_sample`` draws after ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return torch.randn((BATCH, arch["channels_in"], *arch["input_shape"]), dtype=dtype)


def checked_sample(
    pipeline: types.ModuleType,
    sampling: types.ModuleType,
    model: Any,
    arch: dict[str, Any],
    inputs: dict[str, torch.Tensor],
    dtype: torch.dtype,
    combo: tuple[int, float, int, float],
) -> torch.Tensor:
    steps, guidance, skip, mu = combo
    kwargs = published_kwargs(inputs, dtype)
    noise = draw_noise(arch, SEED_NOISE, dtype)
    final = replica_sample(model, sampling, noise, kwargs, steps, guidance, skip, mu)
    official = published_sample(pipeline, model, SEED_NOISE, kwargs, steps, guidance, skip, mu)
    if not torch.equal(official, final.float().clamp(-1.0, 1.0)):
        raise SystemExit(f"replica of the published loop disagrees with TryOnPipeline._sample at {combo}")
    return final


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--published", type=Path, required=True, help="the published checkout's src/ folder")
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/fashn_vton"))
    parser.add_argument("--commit", default=KNOWN_COMMIT, help="published commit, when --published is no git tree")
    args = parser.parse_args()

    torch.set_num_threads(1)  # deterministic reductions
    mmdit, sampling, pipeline = import_published(args.published.resolve())
    args.out.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}

    # Published-size state dict: names and shapes only.
    with torch.device("meta"):
        full = mmdit.TryOnModel()
    entries = [[name, list(t.shape)] for name, t in full.state_dict().items()]
    (args.out / "default_state_dict.json").write_text(
        json.dumps(
            {
                "parameters": sum(p.numel() for p in full.parameters()),
                "buffers": sum(b.numel() for b in full.buffers()),
                "entries": entries,
            },
            indent=None,
        )
        + "\n"
    )

    # Small model: forwards and sampler runs.
    small = build_published(mmdit, SMALL_ARCH, SEED_WEIGHTS)
    save_file({k: v.contiguous() for k, v in small.state_dict().items()}, str(args.out / "small.safetensors"))
    inputs = make_inputs(SMALL_ARCH, SEED_INPUTS)
    tensors.update({f"inputs.{k}": v for k, v in inputs.items()})
    tensors["noise"] = draw_noise(SMALL_ARCH, SEED_NOISE, torch.float32)

    kwargs = published_kwargs(inputs, torch.float32)
    gen = torch.Generator().manual_seed(SEED_NOISE + 1)
    x = torch.randn(tensors["noise"].shape, generator=gen)
    t = torch.tensor([0.3, 0.85])
    keep = torch.tensor([False, True])
    with torch.inference_mode():
        tensors["forward.x"], tensors["forward.t"] = x, t
        tensors["forward.out"] = small(x, t, **kwargs)["x"]
        cfg = small.forward_for_cfg(x, t, **kwargs)
        tensors["forward_cfg.cond"], tensors["forward_cfg.uncond"] = cfg["v_c"], cfg["v_u"]
        tensors["forward_masked.keep"] = keep
        tensors["forward_masked.out"] = small(x, t, mask=keep, **kwargs)["x"]

    for combo in COMBOS:
        tensors[f"sample.{combo_key(*combo)}"] = checked_sample(
            pipeline, sampling, small, SMALL_ARCH, inputs, torch.float32, combo
        )

    # The same small model in bfloat16, as the published pipeline runs on GPUs that support it.
    small_bf16 = small.to(torch.bfloat16)
    with torch.inference_mode():
        tensors["bf16.forward.out"] = small_bf16(
            x.to(torch.bfloat16), t.to(torch.bfloat16), **published_kwargs(inputs, torch.bfloat16)
        )["x"]
    # The time features alone: in bf16 the published model rounds t (and 1000·t) before the sinusoids.
    times = torch.tensor([0.0, 0.013, 0.3, 0.5, 0.85, 0.97, 1.0])
    tensors["time_embedding.t"] = times
    tensors["time_embedding.float32"] = mmdit.timestep_embedding(times, 256)
    tensors["bf16.time_embedding"] = mmdit.timestep_embedding(times.to(torch.bfloat16), 256)
    tensors["bf16.noise"] = draw_noise(SMALL_ARCH, SEED_NOISE, torch.bfloat16)
    tensors[f"bf16.sample.{combo_key(*BF16_COMBO)}"] = checked_sample(
        pipeline, sampling, small_bf16, SMALL_ARCH, inputs, torch.bfloat16, BF16_COMBO
    )

    # Variant: forwards only (the published sampler does not drive a guidance-embedding model).
    variant = build_published(mmdit, VARIANT_ARCH, SEED_WEIGHTS + 10)
    save_file({k: v.contiguous() for k, v in variant.state_dict().items()}, str(args.out / "variant.safetensors"))
    v_inputs = make_inputs(VARIANT_ARCH, SEED_INPUTS + 10)
    v_kwargs = published_kwargs(v_inputs, torch.float32)
    del v_kwargs["garment_categories"]
    gen = torch.Generator().manual_seed(SEED_NOISE + 10)
    v_x = torch.randn((BATCH, VARIANT_ARCH["channels_in"], *VARIANT_ARCH["input_shape"]), generator=gen)
    v_t = torch.tensor([0.05, 0.6])
    v_guidance = torch.tensor([1.5, 3.0])
    with torch.inference_mode():
        tensors.update({f"variant.inputs.{k}": v for k, v in v_inputs.items() if k != "category"})
        tensors["variant.forward.x"], tensors["variant.forward.t"] = v_x, v_t
        tensors["variant.forward.guidance"] = v_guidance
        tensors["variant.forward.out"] = variant(v_x, v_t, guidance=v_guidance, **v_kwargs)["x"]
        v_cfg = variant.forward_for_cfg(v_x, v_t, guidance=v_guidance, **v_kwargs)
        tensors["variant.forward_cfg.cond"], tensors["variant.forward_cfg.uncond"] = v_cfg["v_c"], v_cfg["v_u"]

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(args.out / "tensors.safetensors"))

    reference = {
        "published": {
            "repo": PUBLISHED_REPO,
            "commit": published_commit(args.published, args.commit),
            "license": "Apache-2.0",
        },
        "torch": torch.__version__,
        "small_arch": SMALL_ARCH,
        "variant_arch": VARIANT_ARCH,
        "categories": CATEGORIES,
        "combos": [
            {
                "key": combo_key(*c),
                "steps": c[0],
                "guidance_scale": c[1],
                "skip_cfg_last_n_steps": c[2],
                "time_shift_mu": c[3],
            }
            for c in COMBOS
        ],
        "bf16_combo": {
            "key": combo_key(*BF16_COMBO),
            "steps": BF16_COMBO[0],
            "guidance_scale": BF16_COMBO[1],
            "skip_cfg_last_n_steps": BF16_COMBO[2],
            "time_shift_mu": BF16_COMBO[3],
        },
        "schedules": {
            f"{steps}_mu{mu}": sampling.get_rf_schedule(num_steps=steps, mu=mu)
            for steps in SCHEDULE_STEPS
            for mu in (0.5, 1.5)
        },
        "tensor_keys": sorted(tensors),
    }
    (args.out / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")
    for path in sorted(args.out.iterdir()):
        print(f"{path}  {path.stat().st_size / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
