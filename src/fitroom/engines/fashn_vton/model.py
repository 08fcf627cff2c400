"""The FASHN VTON v1.5 try-on transformer, in plain torch.

The network is a FLUX-style MMDiT. Two token streams share every attention layer:

* the *person* stream: patches of the noisy state concatenated channel-wise with the person
  image (clothing-agnostic) and the person's pose skeleton;
* the *garment* stream: patches of the garment image concatenated with its pose skeleton.

A few single-stream blocks first mix the person patches among themselves (the "patch mixer"),
then double-stream blocks keep separate weights per stream but attend jointly, then
single-stream blocks run on the concatenated sequence (garment tokens first), and the final
layer turns the person tokens back into a velocity image. Time (and, for the published
weights, the garment category) enter only through adaptive-norm modulation.

Module and parameter names are those of the published checkpoint, so ``model.safetensors``
loads with ``strict=True``; the names ``img``/``txt`` inside the blocks are FLUX's and stand for
the person and garment streams. The arithmetic follows the published code operation by
operation (same dtype casts, same order of additions), so in float32 the two agree to rounding
and in bfloat16 this model rounds where the published one does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ARCH_KEYS: tuple[str, ...] = (
    "input_shape",
    "hidden_size",
    "n_heads",
    "double_blocks_depth",
    "single_blocks_depth",
    "mlp_ratio",
    "channels_in",
    "patch_size",
    "theta",
    "axes_dim",
    "qkv_bias",
    "guidance_embed",
    "n_classes",
    "use_patch_mixer",
    "patch_mixer_depth",
)
"""Keyword arguments of :class:`TryOnModel`, named as in the published architecture."""

TIME_EMBED_DIM = 256
"""Width of the sinusoidal time (and guidance) features fed to their MLP embedders."""

NULL_CATEGORY = 0
"""Category label of the unconditional branch; real labels are 1 tops, 2 bottoms, 3 one-pieces."""

_EPS = 1e-6


# --------------------------------------------------------------------------------------------
# Functional pieces


def _layer_norm(x: Tensor) -> Tensor:
    """LayerNorm without affine parameters (the checkpoint has none for these norms)."""
    return F.layer_norm(x, (x.shape[-1],), eps=_EPS)


def _modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    return (1 + scale) * x + shift


def timestep_embedding(t: Tensor, dim: int = TIME_EMBED_DIM, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal features (cosines then sines) of ``1000 * t``, one row per batch element.

    The scaling by 1000 happens in ``t``'s own dtype and the result is cast back to it, as in
    the published model: under bfloat16 the time is therefore quantised before the sinusoids,
    which is what the published bf16 inference feeds its weights.
    """
    if dim % 2:
        raise ValueError(f"time embedding width must be even, got {dim}")
    half = dim // 2
    scaled = t * 1000.0
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = scaled[:, None].float() * freqs[None]
    features = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return features.to(t.dtype) if t.is_floating_point() else features


def position_ids(grid_h: int, grid_w: int, device: torch.device | str | None = None) -> Tensor:
    """(grid_h·grid_w, 3) float ids of a row-major patch grid: (0, row, column).

    Both streams use these same ids (the garment image has the person image's size), so a
    garment patch and the person patch at the same place share a rotary phase.
    """
    rows = torch.arange(grid_h, device=device).repeat_interleave(grid_w)
    cols = torch.arange(grid_w, device=device).repeat(grid_h)
    return torch.stack([torch.zeros_like(rows), rows, cols], dim=-1).float()


def rope_tables(ids: Tensor, axes_dim: tuple[int, ...], theta: float) -> tuple[Tensor, Tensor]:
    """Cosine and sine tables, (L, head_dim / 2) float32, for rotary embedding of ``ids``.

    Each id axis owns a contiguous slice of ``axes_dim[i]`` head channels, rotated in adjacent
    pairs. Angles are computed in float64 and only the tables are rounded to float32.
    """
    angles = []
    for axis, dim in enumerate(axes_dim):
        exponents = torch.arange(0, dim, 2, dtype=torch.float64, device=ids.device) / dim
        inv_freq = 1.0 / theta**exponents
        angles.append(ids[:, axis].double()[:, None] * inv_freq[None, :])
    angle = torch.cat(angles, dim=-1)
    return torch.cos(angle).float(), torch.sin(angle).float()


def _apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate channel pairs (2i, 2i+1) of (B, H, L, D) ``x`` by the tabulated angles, in float32."""
    pairs = x.float().unflatten(-1, (-1, 2))
    even, odd = pairs[..., 0], pairs[..., 1]
    rotated = torch.stack((cos * even - sin * odd, sin * even + cos * odd), dim=-1)
    return rotated.flatten(-2).type_as(x)


def _split_heads(qkv: Tensor, n_heads: int) -> tuple[Tensor, Tensor, Tensor]:
    """(B, L, 3·H·D) -> three (B, H, L, D) tensors; the fused layout is (q|k|v, head, channel)."""
    q, k, v = qkv.unflatten(-1, (3, n_heads, -1)).permute(2, 0, 3, 1, 4).unbind(0)
    return q, k, v


def _attention(q: Tensor, k: Tensor, v: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotary embedding on q and k, then SDPA; returns (B, L, H·D)."""
    out = F.scaled_dot_product_attention(_apply_rope(q, cos, sin), _apply_rope(k, cos, sin), v)
    return out.transpose(1, 2).flatten(2)


def _null_where(keep: Tensor, value: Tensor) -> Tensor:
    """``value`` where ``keep`` (one bool per batch element) is set, zeros elsewhere."""
    mask = keep.to(device=value.device, dtype=torch.bool).view(-1, *([1] * (value.dim() - 1)))
    return torch.where(mask, value, torch.zeros_like(value))


# --------------------------------------------------------------------------------------------
# Layers (attribute names are the checkpoint's)


class RMSNorm(nn.Module):
    """RMS norm computed in float32, cast back, then scaled by a learned per-channel gain."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        xf = x.float()
        normed = xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + _EPS)
        return normed.to(x.dtype) * self.scale


class QKNorm(nn.Module):
    def __init__(self, head_dim: int) -> None:
        super().__init__()
        self.query_norm = RMSNorm(head_dim)
        self.key_norm = RMSNorm(head_dim)

    def forward(self, q: Tensor, k: Tensor, like: Tensor) -> tuple[Tensor, Tensor]:
        return self.query_norm(q).to(like), self.key_norm(k).to(like)


class Modulation(nn.Module):
    """Projects the conditioning vector into ``count`` (B, 1, dim) tensors: shift, scale, gate[, ...]."""

    def __init__(self, dim: int, count: int) -> None:
        super().__init__()
        self.count = count
        self.lin = nn.Linear(dim, count * dim, bias=True)

    def forward(self, vec: Tensor) -> tuple[Tensor, ...]:
        return self.lin(F.silu(vec))[:, None, :].chunk(self.count, dim=-1)


class StreamAttention(nn.Module):
    """The per-stream half of a joint attention layer: fused qkv, QK-norm, output projection."""

    def __init__(self, dim: int, n_heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.norm = QKNorm(dim // n_heads)
        self.proj = nn.Linear(dim, dim)

    def heads(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        q, k, v = _split_heads(self.qkv(x), self.n_heads)
        q, k = self.norm(q, k, v)
        return q, k, v


def _mlp(dim: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))


class DoubleStreamBlock(nn.Module):
    """Separate weights per stream, one attention over [garment tokens, person tokens]."""

    def __init__(self, hidden_size: int, n_heads: int, mlp_ratio: float, qkv_bias: bool) -> None:
        super().__init__()
        mlp_hidden = int(hidden_size * mlp_ratio)
        self.img_mod = Modulation(hidden_size, 6)
        self.img_attn = StreamAttention(hidden_size, n_heads, qkv_bias)
        self.img_mlp = _mlp(hidden_size, mlp_hidden)
        self.txt_mod = Modulation(hidden_size, 6)
        self.txt_attn = StreamAttention(hidden_size, n_heads, qkv_bias)
        self.txt_mlp = _mlp(hidden_size, mlp_hidden)

    def forward(self, img: Tensor, txt: Tensor, vec: Tensor, cos: Tensor, sin: Tensor) -> tuple[Tensor, Tensor]:
        i_shift1, i_scale1, i_gate1, i_shift2, i_scale2, i_gate2 = self.img_mod(vec)
        t_shift1, t_scale1, t_gate1, t_shift2, t_scale2, t_gate2 = self.txt_mod(vec)

        img_q, img_k, img_v = self.img_attn.heads(_modulate(_layer_norm(img), i_shift1, i_scale1))
        txt_q, txt_k, txt_v = self.txt_attn.heads(_modulate(_layer_norm(txt), t_shift1, t_scale1))
        attn = _attention(
            torch.cat((txt_q, img_q), dim=2),
            torch.cat((txt_k, img_k), dim=2),
            torch.cat((txt_v, img_v), dim=2),
            cos,
            sin,
        )
        n_txt = txt.shape[1]
        txt_attn, img_attn = attn[:, :n_txt], attn[:, n_txt:]

        img = img + i_gate1 * self.img_attn.proj(img_attn)
        img = img + i_gate2 * self.img_mlp(_modulate(_layer_norm(img), i_shift2, i_scale2))
        txt = txt + t_gate1 * self.txt_attn.proj(txt_attn)
        txt = txt + t_gate2 * self.txt_mlp(_modulate(_layer_norm(txt), t_shift2, t_scale2))
        return img, txt


class SingleStreamBlock(nn.Module):
    """Parallel attention + MLP block: one matmul makes qkv and the MLP input, one makes the output."""

    def __init__(self, hidden_size: int, n_heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.hidden_size = hidden_size
        self.mlp_hidden = int(hidden_size * mlp_ratio)
        self.linear1 = nn.Linear(hidden_size, hidden_size * 3 + self.mlp_hidden)
        self.linear2 = nn.Linear(hidden_size + self.mlp_hidden, hidden_size)
        self.norm = QKNorm(hidden_size // n_heads)
        self.modulation = Modulation(hidden_size, 3)

    def forward(self, x: Tensor, vec: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        shift, scale, gate = self.modulation(vec)
        qkv, mlp = self.linear1(_modulate(_layer_norm(x), shift, scale)).split(
            [3 * self.hidden_size, self.mlp_hidden], dim=-1
        )
        q, k, v = _split_heads(qkv, self.n_heads)
        q, k = self.norm(q, k, v)
        attn = _attention(q, k, v, cos, sin)
        return x + gate * self.linear2(torch.cat((attn, F.gelu(mlp, approximate="tanh")), dim=2))


class FinalLayer(nn.Module):
    def __init__(self, hidden_size: int, out_channels: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden_size, out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))

    def forward(self, x: Tensor, vec: Tensor) -> Tensor:
        shift, scale = self.adaLN_modulation(vec).chunk(2, dim=1)
        return self.linear(_modulate(_layer_norm(x), shift[:, None, :], scale[:, None, :]))


class PatchEmbed(nn.Module):
    """Non-overlapping p×p patches -> tokens, as a strided convolution (the checkpoint stores a conv)."""

    def __init__(self, in_channels: int, hidden_size: int, patch_size: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, hidden_size, kernel_size=patch_size, stride=patch_size, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class MLPEmbedder(nn.Module):
    def __init__(self, in_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.in_layer = nn.Linear(in_dim, hidden_dim)
        self.out_layer = nn.Linear(hidden_dim, hidden_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.out_layer(F.silu(self.in_layer(x)))


class TimestepEmbedder(nn.Module):
    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.mlp = MLPEmbedder(TIME_EMBED_DIM, hidden_size)

    def forward(self, t: Tensor) -> Tensor:
        return self.mlp(timestep_embedding(t, TIME_EMBED_DIM))


# --------------------------------------------------------------------------------------------
# The model


class TryOnModel(nn.Module):
    """FASHN VTON v1.5 velocity model. Defaults are the published sizes (~971.8M parameters).

    ``forward`` predicts the rectified-flow velocity for a batch; ``forward_cfg`` runs the
    conditional and unconditional branches as one batch of twice the size. All image tensors
    are (B, C, H, W) with (H, W) == ``input_shape``, values in [-1, 1]; pose skeletons have one
    channel. Inputs are cast to the model's parameter dtype, so a bfloat16 model can be fed
    float32 tensors.
    """

    y_embedder: nn.Embedding | None
    guidance_embedder: TimestepEmbedder | None
    patch_mixer_token: Tensor

    def __init__(
        self,
        *,
        input_shape: tuple[int, int] = (864, 576),
        hidden_size: int = 1280,
        n_heads: int = 10,
        double_blocks_depth: int = 8,
        single_blocks_depth: int = 16,
        mlp_ratio: float = 4,
        channels_in: int = 3,
        patch_size: int = 12,
        theta: int = 10000,
        axes_dim: tuple[int, ...] = (16, 56, 56),
        qkv_bias: bool = True,
        guidance_embed: bool = False,
        n_classes: int = 3,
        use_patch_mixer: bool = True,
        patch_mixer_depth: int = 4,
    ) -> None:
        super().__init__()
        input_shape = (int(input_shape[0]), int(input_shape[1]))
        axes_dim = tuple(int(d) for d in axes_dim)
        if hidden_size % n_heads:
            raise ValueError(f"hidden_size {hidden_size} is not divisible by n_heads {n_heads}")
        if sum(axes_dim) != hidden_size // n_heads or any(d % 2 for d in axes_dim):
            raise ValueError(
                f"axes_dim {axes_dim} must be even sizes summing to the head width {hidden_size // n_heads}"
            )
        if input_shape[0] % patch_size or input_shape[1] % patch_size:
            raise ValueError(f"input_shape {input_shape} is not a multiple of patch_size {patch_size}")

        self.input_shape = input_shape
        self.hidden_size = hidden_size
        self.n_heads = n_heads
        self.double_blocks_depth = double_blocks_depth
        self.single_blocks_depth = single_blocks_depth
        self.mlp_ratio = mlp_ratio
        self.channels_in = channels_in
        self.patch_size = patch_size
        self.theta = theta
        self.axes_dim = axes_dim
        self.qkv_bias = qkv_bias
        self.guidance_embed = guidance_embed
        self.n_classes = n_classes
        self.use_patch_mixer = use_patch_mixer
        self.patch_mixer_depth = patch_mixer_depth

        self.t_embedder = TimestepEmbedder(hidden_size)
        # Row 0 is the null class used by the unconditional branch.
        self.y_embedder = nn.Embedding(n_classes + 1, hidden_size) if n_classes > 0 else None
        self.guidance_embedder = TimestepEmbedder(hidden_size) if guidance_embed else None

        # Person stream input: noisy state + person image + 1-channel pose; garment: image + pose.
        self.x_embedder = PatchEmbed(2 * channels_in + 1, hidden_size, patch_size)
        self.garment_embedder = PatchEmbed(channels_in + 1, hidden_size, patch_size)

        self.x_patch_mixer = nn.ModuleList(
            [
                SingleStreamBlock(hidden_size, n_heads, mlp_ratio)
                for _ in range(patch_mixer_depth if use_patch_mixer else 0)
            ]
        )
        if use_patch_mixer:
            # Never read: registered only so the published checkpoint (which stores it) loads strictly.
            self.register_buffer("patch_mixer_token", torch.zeros(1, 1, channels_in * patch_size**2))

        self.double_blocks = nn.ModuleList(
            [DoubleStreamBlock(hidden_size, n_heads, mlp_ratio, qkv_bias) for _ in range(double_blocks_depth)]
        )
        self.single_blocks = nn.ModuleList(
            [SingleStreamBlock(hidden_size, n_heads, mlp_ratio) for _ in range(single_blocks_depth)]
        )
        self.final_layer = FinalLayer(hidden_size, channels_in * patch_size**2)

    # ---- construction helpers

    @property
    def arch(self) -> dict[str, Any]:
        """The keyword arguments this model was built with (JSON-friendly; tuples become lists in JSON)."""
        return {key: getattr(self, key) for key in ARCH_KEYS}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TryOnModel:
        """Build from a mapping of architecture keywords, e.g. a parsed ``config.json``.

        Unknown keys are an error rather than ignored: a typo or a config written for another
        architecture would otherwise silently build the default model and then fail (or worse,
        half-succeed) when the weights are loaded. Missing keys take the published defaults.
        """
        if not isinstance(config, Mapping):
            raise TypeError(f"TryOnModel config must be a mapping, got {type(config).__name__}")
        unknown = sorted(set(config) - set(ARCH_KEYS))
        if unknown:
            raise ValueError(f"unknown TryOnModel config keys {unknown}; accepted keys are {list(ARCH_KEYS)}")
        kwargs = dict(config)
        for key in ("input_shape", "axes_dim"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)

    @property
    def grid_shape(self) -> tuple[int, int]:
        """Patch grid (rows, columns); each stream has rows·columns tokens."""
        return self.input_shape[0] // self.patch_size, self.input_shape[1] // self.patch_size

    @property
    def dtype(self) -> torch.dtype:
        """The parameters' dtype; ``forward`` casts its inputs to it."""
        return self.x_embedder.proj.weight.dtype

    # ---- inference

    def _check_inputs(self, x: Tensor, images: Mapping[str, Tensor]) -> None:
        h, w = self.input_shape
        expected = {"x": self.channels_in, "person": self.channels_in, "garment": self.channels_in}
        for name, tensor in {"x": x, **images}.items():
            channels = expected.get(name, 1)
            if tensor.dim() != 4 or tuple(tensor.shape[1:]) != (channels, h, w) or tensor.shape[0] != x.shape[0]:
                raise ValueError(
                    f"{name} must have shape ({x.shape[0]}, {channels}, {h}, {w}), got {tuple(tensor.shape)}"
                )

    def _unpatchify(self, tokens: Tensor) -> Tensor:
        """(B, rows·cols, C·p·p) -> (B, C, rows·p, cols·p); token channels are laid out (C, p_row, p_col)."""
        rows, cols = self.grid_shape
        p = self.patch_size
        image = tokens.reshape(tokens.shape[0], rows, cols, self.channels_in, p, p).permute(0, 3, 1, 4, 2, 5)
        return image.reshape(tokens.shape[0], self.channels_in, rows * p, cols * p)

    def forward(
        self,
        x: Tensor,
        t: Tensor,
        *,
        person: Tensor,
        person_pose: Tensor,
        garment: Tensor,
        garment_pose: Tensor,
        category: Tensor | None = None,
        guidance: Tensor | None = None,
        keep_condition: Tensor | None = None,
    ) -> Tensor:
        """Velocity (B, C, H, W) of noisy state ``x`` at flow times ``t`` (B,), 0 = noise, 1 = data.

        ``category`` holds labels (1 tops, 2 bottoms, 3 one-pieces), required when the model has
        a category embedding; ``guidance`` (B,) only for a guidance-embedding model.
        ``keep_condition``, one bool per element, replaces the conditioning of elements where it
        is False by the null condition (zero images and poses, label 0) — the noisy state is kept.
        """
        self._check_inputs(
            x, {"person": person, "person_pose": person_pose, "garment": garment, "garment_pose": garment_pose}
        )
        if tuple(t.shape) != (x.shape[0],):
            raise ValueError(f"t must have shape ({x.shape[0]},), got {tuple(t.shape)}")
        dtype = self.dtype
        x, t = x.to(dtype), t.to(dtype)
        person, person_pose = person.to(dtype), person_pose.to(dtype)
        garment, garment_pose = garment.to(dtype), garment_pose.to(dtype)
        if keep_condition is not None:
            person, person_pose = _null_where(keep_condition, person), _null_where(keep_condition, person_pose)
            garment, garment_pose = _null_where(keep_condition, garment), _null_where(keep_condition, garment_pose)
            if category is not None:
                category = _null_where(keep_condition, category)

        img = self.x_embedder(torch.cat([x, person, person_pose], dim=1))
        txt = self.garment_embedder(torch.cat([garment, garment_pose], dim=1))

        vec = self.t_embedder(t)
        if self.guidance_embedder is not None:
            if guidance is None:
                raise ValueError("this model embeds a guidance scale: pass guidance")
            vec = vec + self.guidance_embedder(guidance.to(dtype))
        if self.y_embedder is not None:
            if category is None:
                raise ValueError("this model is conditioned on the garment category: pass category labels")
            vec = vec + self.y_embedder(category.to(device=x.device, dtype=torch.long))

        # Both streams share one grid, hence one table; the joint sequence just repeats it.
        cos, sin = rope_tables(position_ids(*self.grid_shape, device=x.device), self.axes_dim, self.theta)
        for block in self.x_patch_mixer:
            img = block(img, vec, cos, sin)

        cos2, sin2 = torch.cat([cos, cos]), torch.cat([sin, sin])
        for block in self.double_blocks:
            img, txt = block(img, txt, vec, cos2, sin2)

        n_txt = txt.shape[1]
        tokens = torch.cat((txt, img), dim=1)
        for block in self.single_blocks:
            tokens = block(tokens, vec, cos2, sin2)

        return self._unpatchify(self.final_layer(tokens[:, n_txt:], vec))

    def forward_cfg(
        self,
        x: Tensor,
        t: Tensor,
        *,
        person: Tensor,
        person_pose: Tensor,
        garment: Tensor,
        garment_pose: Tensor,
        category: Tensor | None = None,
        guidance: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """(conditional, unconditional) velocities from one forward over a batch of 2B.

        The second half gets the null condition (zero person image, person pose, garment
        image, garment pose, label 0) and the same noisy state and time.
        """
        batch = x.shape[0]

        def twice(value: Tensor) -> Tensor:
            return torch.cat([value, value])

        def with_null(value: Tensor) -> Tensor:
            return torch.cat([value, torch.zeros_like(value)])

        out = self(
            twice(x),
            twice(t),
            person=with_null(person),
            person_pose=with_null(person_pose),
            garment=with_null(garment),
            garment_pose=with_null(garment_pose),
            category=None if category is None else with_null(category),
            guidance=None if guidance is None else twice(guidance),
        )
        cond, uncond = out.split(batch)
        return cond, uncond
