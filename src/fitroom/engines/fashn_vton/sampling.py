"""Rectified-flow Euler sampler with classifier-free guidance for :class:`TryOnModel`.

Time runs from 0 (pure noise) to 1 (image); each step moves the state by ``dt · v``. The step
times follow the published shifted schedule, which crowds steps near t = 0 where the coarse
layout is decided. Guidance is ``v_u + g · (v_c − v_u)`` on all but the last
``skip_cfg_last_n_steps`` steps, which use the conditional velocity alone (the published
pipeline does this to avoid over-saturated colours).

Numerics follow the published inference: the state is updated in its own dtype, and the
time is handed to the model as a tensor of the model's dtype (so in bfloat16 it is rounded
as the published bf16 run rounds it). The result is returned unclamped; mapping it to pixels
is the caller's job.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from fitroom.engines.fashn_vton.model import TryOnModel

DEFAULT_TIME_SHIFT_MU = 1.5


def time_schedule(steps: int, mu: float = DEFAULT_TIME_SHIFT_MU) -> list[float]:
    """The ``steps + 1`` flow times, rising from exactly 0.0 to exactly 1.0.

    For uniform ``u = k / steps`` the time is ``u / (u + e^mu · (1 − u))``: the logistic shift
    of FLUX, with ``mu > 0`` spending more steps near the noise end. Values are computed in
    float64 and rounded to float32 (the published schedule is float32), so the model sees the
    same times whatever the state's dtype, and the step sizes add up to exactly 1.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    u = torch.arange(steps + 1, dtype=torch.float64) / steps
    times = u / (u + math.exp(mu) * (1.0 - u))
    return [float(v) for v in times.to(torch.float32).tolist()]


def count_forwards(steps: int, guidance_scale: float, skip_cfg_last_n_steps: int = 1) -> tuple[int, int]:
    """(guided steps, unguided steps) that :func:`sample` runs.

    A guided step is one forward over a batch of 2B (conditional + unconditional), an unguided
    one a forward over B. With ``guidance_scale == 1`` guidance is the identity, so every step
    is unguided.
    """
    guided = 0 if guidance_scale == 1.0 else max(steps - max(skip_cfg_last_n_steps, 0), 0)
    return guided, steps - guided


def sample(
    model: TryOnModel,
    noise: Tensor,
    *,
    person: Tensor,
    person_pose: Tensor,
    garment: Tensor,
    garment_pose: Tensor,
    category: Tensor,
    steps: int,
    guidance_scale: float,
    skip_cfg_last_n_steps: int = 1,
    time_shift_mu: float = DEFAULT_TIME_SHIFT_MU,
    progress: Callable[[int], None] | None = None,
) -> Tensor:
    """Integrate from ``noise`` (t = 0) to an image (t = 1); returns the unclamped final state.

    ``noise`` is (B, channels_in, H, W) and fixes the result: the same noise gives the same
    image, and batch elements do not interact, so B requests can share one call. The
    conditioning images are (B, 3, H, W) and poses (B, 1, H, W) in [-1, 1]; ``category`` is a
    (B,) tensor of labels, 1 tops, 2 bottoms, 3 one-pieces. They are moved to the noise's
    device; the model should already be there.

    Steps that use the conditional velocity alone (the skipped last steps, or every step when
    ``guidance_scale == 1``) run the conditional branch only, which halves their cost; the
    published pipeline computes and discards the unconditional branch there. The two agree
    to rounding.

    ``progress``, when given, is called with the 0-based index of each step as it completes.
    The result has the shape, dtype and device of ``noise``.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if skip_cfg_last_n_steps < 0:
        raise ValueError(f"skip_cfg_last_n_steps must be >= 0, got {skip_cfg_last_n_steps}")
    if model.guidance_embedder is not None:
        raise ValueError("guidance-distilled checkpoints (guidance_embed=True) are not supported by this sampler")
    batch = noise.shape[0]
    expected = (batch, model.channels_in, *model.input_shape)
    if tuple(noise.shape) != expected:
        raise ValueError(f"noise must have shape {expected}, got {tuple(noise.shape)}")
    if tuple(category.shape) != (batch,):
        raise ValueError(f"category must have shape ({batch},), got {tuple(category.shape)}")

    device, model_dtype = noise.device, model.dtype
    guided_steps, _ = count_forwards(steps, guidance_scale, skip_cfg_last_n_steps)
    times = time_schedule(steps, time_shift_mu)

    with torch.inference_mode():
        labels = category.to(device=device, dtype=torch.long)
        if model.y_embedder is not None and bool(((labels < 1) | (labels > model.n_classes)).any()):
            raise ValueError(f"category labels must lie in 1..{model.n_classes}, got {labels.tolist()}")
        conditions = {
            "person": person.to(device=device, dtype=model_dtype),
            "person_pose": person_pose.to(device=device, dtype=model_dtype),
            "garment": garment.to(device=device, dtype=model_dtype),
            "garment_pose": garment_pose.to(device=device, dtype=model_dtype),
            "category": labels,
        }
        state = noise
        for index in range(steps):
            t_now, t_next = times[index], times[index + 1]
            t = torch.full((batch,), t_now, dtype=model_dtype, device=device)
            x = state.to(model_dtype)
            if index < guided_steps:
                v_cond, v_uncond = model.forward_cfg(x, t, **conditions)
                v_cond, v_uncond = v_cond.to(state.dtype), v_uncond.to(state.dtype)
                velocity = v_uncond + guidance_scale * (v_cond - v_uncond)
            else:
                velocity = model(x, t, **conditions).to(state.dtype)
            state = state + (t_next - t_now) * velocity
            if progress is not None:
                progress(index)
    return state
