"""FASHN VTON v1.5 sampler speed at the published size (random weights), plus its FLOP count.

    python benchmarks/bench_vton.py [--device auto|cpu|cuda] [--dtype auto|float32|bfloat16|float16]
                                    [--steps 20 30 50] [--batch 1 2 4] [--repeats 3]
                                    [--mode auto|sampler|step] [--flops-only]

Two ways to measure:

* ``sampler`` (the default on CUDA): whole sampler runs, one warm-up then ``--repeats`` timed
  runs per (batch, steps); prints the median seconds per image and the peak CUDA memory.
* ``step`` (the default on CPU, where one published-size forward takes minutes): times one
  guided step, i.e. one CFG forward over 2×batch, ``--repeats`` times (no warm-up: each takes
  minutes), and extrapolates each step count by counting sample-forwards: a run of N steps
  with the default ``skip_cfg_last_n_steps=1`` is N−1 guided steps (2·batch each) plus one
  unguided step (batch), so it costs (N − 0.5) guided steps.

Weights are random (built on the meta device, then filled in place with a uniform init of
Linear's scale), so nothing is downloaded and the numbers are those of the real shapes. The
FLOP count is analytic: 2·m·n·k for every matmul and convolution in a forward, plus the two
attention matmuls (QKᵀ and AV); elementwise work, norms and softmax are left out. It is
compared with an H100's dense bf16 peak (989 TFLOP/s) to put a time into perspective.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from statistics import median
from typing import Any

import torch

from fitroom.engines.fashn_vton.model import TryOnModel
from fitroom.engines.fashn_vton.sampling import count_forwards, sample

H100_BF16_DENSE_TFLOPS = 989.0
GUIDANCE_SCALE = 1.5
SKIP_CFG_LAST_N_STEPS = 1


# ---------------------------------------------------------------------------------------------
# FLOPs


@dataclass(frozen=True)
class FlopCount:
    linear: float  # projections, MLPs, patch embedding, final layer, modulation, time/category embedding
    attention: float  # QKᵀ and AV

    @property
    def total(self) -> float:
        return self.linear + self.attention


def forward_flops(model: TryOnModel) -> FlopCount:
    """FLOPs of one forward for ONE sample (a guided step costs twice this per image)."""
    h, heads = model.hidden_size, model.n_heads
    mlp = int(h * model.mlp_ratio)
    c, p = model.channels_in, model.patch_size
    n = model.grid_shape[0] * model.grid_shape[1]  # tokens per stream
    joint = 2 * n

    def attention(tokens: int) -> float:  # QKᵀ and AV over all heads
        return 2 * 2 * tokens * tokens * (h // heads) * heads

    def single_block_linear(tokens: int) -> float:
        return 2 * tokens * h * (3 * h + mlp) + 2 * tokens * (h + mlp) * h + 2 * h * 3 * h

    double_linear = 2 * (2 * n * h * 3 * h + 2 * n * h * h + 2 * 2 * n * h * mlp + 2 * h * 6 * h)
    embed = 2 * n * (2 * c + 1) * p * p * h + 2 * n * (c + 1) * p * p * h
    final = 2 * n * h * c * p * p + 2 * h * 2 * h
    conditioning = 2 * (256 * h + h * h) * (2 if model.guidance_embedder is not None else 1)
    mixer = len(model.x_patch_mixer)
    linear = (
        embed
        + final
        + conditioning
        + mixer * single_block_linear(n)
        + len(model.double_blocks) * double_linear
        + len(model.single_blocks) * single_block_linear(joint)
    )
    attn = mixer * attention(n) + (len(model.double_blocks) + len(model.single_blocks)) * attention(joint)
    return FlopCount(linear=float(linear), attention=float(attn))


def print_flops(model: TryOnModel, steps: list[int]) -> FlopCount:
    flops = forward_flops(model)
    print(
        f"FLOPs per sample-forward: {flops.total / 1e12:.2f} TFLOP "
        f"(linear {flops.linear / 1e12:.2f}, attention {flops.attention / 1e12:.2f}); "
        f"per guided step (cond+uncond) {2 * flops.total / 1e12:.2f} TFLOP per image"
    )
    for n in steps:
        guided, unguided = count_forwards(n, GUIDANCE_SCALE, SKIP_CFG_LAST_N_STEPS)
        per_image = (2 * guided + unguided) * flops.total
        print(
            f"  {n} steps: {per_image / 1e15:.3f} PFLOP per image; at 100% of an H100's bf16 peak "
            f"{per_image / (H100_BF16_DENSE_TFLOPS * 1e12):.2f} s per image"
        )
    return flops


def peak_fraction(flop: float, seconds: float) -> str:
    achieved = flop / seconds / 1e12
    return f"{achieved:.3g} TFLOP/s = {100 * achieved / H100_BF16_DENSE_TFLOPS:.3g}% of H100 bf16 peak"


# ---------------------------------------------------------------------------------------------
# Model and inputs


def random_model(device: torch.device, dtype: torch.dtype, seed: int = 0) -> TryOnModel:
    """Published-size model with random weights, without running the default (slow) initialisers."""
    with torch.device("meta"):
        model = TryOnModel()
    model = model.to(dtype).to_empty(device=device)
    generator = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(".scale"):
                param.fill_(1.0)
            elif param.dim() == 1:
                param.zero_()
            else:
                bound = 1.0 / math.sqrt(param[0].numel())
                param.uniform_(-bound, bound, generator=generator)
        for buffer in model.buffers():
            buffer.zero_()
    return model.eval()


def random_inputs(model: TryOnModel, batch: int, device: torch.device, seed: int = 1) -> dict[str, Any]:
    """Noise and conditioning in the sampler's keyword names (noise under ``noise``)."""
    generator = torch.Generator(device=device).manual_seed(seed)
    h, w = model.input_shape
    c = model.channels_in

    def uniform(channels: int) -> torch.Tensor:
        return torch.rand((batch, channels, h, w), generator=generator, device=device) * 2 - 1

    def skeleton() -> torch.Tensor:
        mask = torch.rand((batch, 1, h, w), generator=generator, device=device) < 0.05
        return mask.float() * 2 - 1

    return {
        "noise": torch.randn((batch, c, h, w), generator=generator, device=device),
        "person": uniform(c),
        "person_pose": skeleton(),
        "garment": uniform(c),
        "garment_pose": skeleton(),
        "category": torch.arange(batch, device=device) % 3 + 1,
    }


# ---------------------------------------------------------------------------------------------
# Timing


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def guided_step(model: TryOnModel, x: torch.Tensor, t: torch.Tensor, inputs: dict[str, Any]) -> None:
    with torch.inference_mode():
        model.forward_cfg(x, t, **inputs)


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # ru_maxrss is KiB on Linux


def bench_sampler(model: TryOnModel, args: argparse.Namespace, device: torch.device, flops: FlopCount) -> None:
    for batch in args.batch:
        inputs = random_inputs(model, batch, device)
        noise = inputs.pop("noise").to(model.dtype)
        for steps in args.steps:
            run = partial(sample, model, noise, steps=steps, guidance_scale=GUIDANCE_SCALE, **inputs)
            sample(model, noise, steps=min(steps, 2), guidance_scale=GUIDANCE_SCALE, **inputs)  # warm-up
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            seconds = median(timed(run, device) for _ in range(args.repeats))
            guided, unguided = count_forwards(steps, GUIDANCE_SCALE, SKIP_CFG_LAST_N_STEPS)
            flop = (2 * guided + unguided) * batch * flops.total
            memory = (
                f"peak CUDA memory {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB"
                if device.type == "cuda"
                else f"peak RSS {peak_rss_gib():.2f} GiB"
            )
            print(
                f"batch {batch}, {steps} steps: {seconds:.3f} s per run, {seconds / batch:.3f} s per image "
                f"(median of {args.repeats}); {peak_fraction(flop, seconds)}; {memory}",
                flush=True,
            )


def bench_step(model: TryOnModel, args: argparse.Namespace, device: torch.device, flops: FlopCount) -> None:
    for batch in args.batch:
        inputs = random_inputs(model, batch, device)
        x = inputs.pop("noise").to(model.dtype)
        t = torch.full((batch,), 0.3, device=device, dtype=model.dtype)

        times = []
        for i in range(args.repeats):
            times.append(timed(partial(guided_step, model, x, t, inputs), device))
            print(f"  batch {batch}: guided step {i + 1}/{args.repeats} took {times[-1]:.2f} s", flush=True)
        step = median(times)
        print(
            f"batch {batch}: one guided step (CFG forward over {2 * batch} samples) {step:.2f} s "
            f"(median of {args.repeats}); {peak_fraction(2 * batch * flops.total, step)}; "
            f"peak RSS {peak_rss_gib():.2f} GiB",
            flush=True,
        )
        for steps in args.steps:
            guided, unguided = count_forwards(steps, GUIDANCE_SCALE, SKIP_CFG_LAST_N_STEPS)
            total = step * (guided + unguided / 2)
            print(
                f"  extrapolated {steps} steps ({guided} guided + {unguided} unguided): "
                f"{total:.0f} s per run, {total / batch:.0f} s per image",
                flush=True,
            )


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    parser.add_argument("--steps", type=int, nargs="+", default=[20, 30, 50])
    parser.add_argument("--batch", type=int, nargs="+", default=None, help="default: 1 2 4 on CUDA, 1 2 on CPU")
    parser.add_argument("--repeats", type=int, default=None, help="default: 3 on CUDA, 1 on CPU")
    parser.add_argument("--mode", default="auto", choices=["auto", "sampler", "step"])
    parser.add_argument("--flops-only", action="store_true", help="print the FLOP count and exit")
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    device = torch.device(
        "cuda" if args.device == "auto" and cuda else ("cpu" if args.device == "auto" else args.device)
    )
    if device.type == "cuda" and not cuda:
        sys.exit("--device cuda: no CUDA device available")
    if args.dtype == "auto":
        bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
        dtype = torch.bfloat16 if bf16 else torch.float32
    else:
        dtype = getattr(torch, args.dtype)
    mode = args.mode if args.mode != "auto" else ("sampler" if device.type == "cuda" else "step")
    args.batch = args.batch or ([1, 2, 4] if device.type == "cuda" else [1, 2])
    args.repeats = args.repeats or (3 if device.type == "cuda" else 1)

    with torch.device("meta"):
        flops = print_flops(TryOnModel(), args.steps)
    if args.flops_only:
        return

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(
        f"device {name}, dtype {str(dtype).removeprefix('torch.')}, mode {mode}, batch {args.batch}, "
        f"steps {args.steps}, guidance {GUIDANCE_SCALE}, skip_cfg_last_n_steps {SKIP_CFG_LAST_N_STEPS}, "
        f"input 864×576, torch {torch.__version__}",
        flush=True,
    )
    start = time.perf_counter()
    model = random_model(device, dtype)
    print(f"random published-size model ready in {time.perf_counter() - start:.1f} s", flush=True)
    (bench_sampler if mode == "sampler" else bench_step)(model, args, device, flops)


if __name__ == "__main__":
    main()
