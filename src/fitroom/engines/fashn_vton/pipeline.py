"""FASHN VTON v1.5 from photos to photos, in one readable file (as diffusers keeps a pipeline).

For each try-on, as the published pipeline does it:

1. Both photos are shrunk to fit the model's longer side (``resize.pre_resize``).
2. DWPose finds the person's whole-body pose and, for a garment worn by someone, the
   wearer's; each is drawn as the grey skeleton the model was trained on. A flat-lay
   garment has no wearer: its skeleton is the published blank placeholder.
3. The person photo goes in as it is ("segmentation-free", the published default). A
   garment worn by someone is cut out: every pixel that is not the garment becomes grey
   127. The published pipeline cuts with FASHN's human parser; we use it when it is
   installed and its weights are already on this machine, and otherwise our own CPU
   garment analysis (``fitroom.engines.cpu.garment``). A flat-lay photo goes in whole.
4. Photos and skeletons are fitted into the model's frame and padded with black
   (``resize.resize_and_pad``; skeletons with nearest-exact so their greys survive) and
   scaled to [-1, 1].
5. The sampler integrates from each try-on's own noise, drawn from its seed, so a try-on
   gives the same image alone or in a batch (``sampling.sample``).
6. The result is clamped, turned into pixels as the published code does (``x·255``
   truncated), unpadded with the person's padding, and scaled back to the size of the
   photo the client sent (our addition: the published pipeline stops at model size).

With ``segmentation_free=False`` and the human parser present, the person photo is
masked as published (``agnostic_mask``); without the parser the request is run
segmentation-free and the job's metadata says so.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import torch
from PIL import Image

from fitroom.engines.fashn_vton import resize
from fitroom.engines.fashn_vton.dwpose import DWPose
from fitroom.engines.fashn_vton.model import TryOnModel
from fitroom.engines.fashn_vton.sampling import sample
from fitroom.engines.fashn_vton.skeleton import draw_skeleton, flat_lay_pose
from fitroom.engines.fashn_vton.weights import CONFIG_FILE, DWPOSE_DIR, WEIGHTS_FILE, missing_files

log = logging.getLogger(__name__)

GUIDANCE_SCALE = 1.5  # the published default
MASK_GREY = 127  # what the published pipeline paints over what the model must not see
CATEGORIES = {1: "tops", 2: "bottoms", 3: "one-pieces"}


@dataclass(frozen=True)
class TryOn:
    """One try-on: photos as H×W×3 uint8 RGB, and what the model is told."""

    person: np.ndarray
    garment: np.ndarray
    category: int  # 1 tops, 2 bottoms, 3 one-pieces
    garment_worn: bool  # worn by someone (cut out, pose estimated), else flat-lay
    garment_mask: np.ndarray | None  # H×W bool on ``garment``, for a worn garment, from our analysis
    seed: int
    samples: int = 1
    segmentation_free: bool = True


@dataclass
class Prepared:
    """A try-on's model inputs (each (1, C, H, W) in [-1, 1]) and how to undo the framing."""

    person: torch.Tensor
    person_pose: torch.Tensor
    garment: torch.Tensor
    garment_pose: torch.Tensor
    padding: resize.Padding
    size: tuple[int, int]  # the person photo's (W, H) as sent
    facts: dict[str, Any] = field(default_factory=dict)


class HumanParser(Protocol):
    """FASHN's human parser, as ``fashn_human_parser.FashnHumanParser`` offers it: an
    H×W×3 uint8 RGB photo in, an H×W array of label ids out."""

    def predict(self, image: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class HumanParsing:
    """The parser and its label tables, taken from its own package so they always agree."""

    parser: HumanParser
    ids: dict[str, int]  # label name -> id
    garment_labels: dict[int, tuple[str, ...]]  # our category -> the labels of such a garment
    identity_labels: tuple[str, ...]  # never hidden: face, hair and the like

    def garment_ids(self, category: int) -> list[int]:
        return [self.ids[name] for name in self.garment_labels[category]]


def load_human_parser(device: str) -> HumanParsing | None:
    """FASHN's human parser when its package is importable and its weights are already
    in the local Hugging Face cache (nothing is downloaded); else None.

    Its weights carry NVIDIA's Source Code License for SegFormer (non-commercial use), not
    Apache-2.0: an operator who installs it accepts that licence."""
    if importlib.util.find_spec("fashn_human_parser") is None:
        return None
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"  # present already, or not at all
    try:
        import fashn_human_parser as fhp

        parser = fhp.FashnHumanParser(device="cuda" if device.startswith("cuda") else "cpu")
        coverage = fhp.CATEGORY_TO_BODY_COVERAGE
        return HumanParsing(
            parser=parser,
            ids=dict(fhp.LABELS_TO_IDS),
            garment_labels={
                label: tuple(fhp.BODY_COVERAGE_TO_LABELS[coverage[name]]) for label, name in CATEGORIES.items()
            },
            identity_labels=tuple(fhp.IDENTITY_LABELS),
        )
    except Exception as exc:  # weights absent, or a broken install: fall back to ours
        log.info("FASHN's human parser is installed but cannot load offline (%s); using the CPU analysis", exc)
        return None
    finally:
        if previous is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous


class Pipeline:
    """The model, DWPose and (optionally) the human parser on one device."""

    def __init__(
        self,
        model: TryOnModel,
        pose: DWPose,
        *,
        device: torch.device,
        parsing: HumanParsing | None = None,
    ) -> None:
        self.model = model
        self.pose = pose
        self.device = device
        self.parsing = parsing

    @classmethod
    def load(cls, folder: Path, device: str) -> Pipeline:
        """Load the published weights folder (``model.safetensors``, ``dwpose/*.onnx``, an
        optional ``config.json``) onto ``device``: bf16 on a CUDA GPU that supports it,
        float32 otherwise, as published."""
        from safetensors.torch import load_file

        absent = missing_files(folder)
        if absent:
            raise FileNotFoundError(f"missing weights: {', '.join(map(str, absent))}")
        config_path = folder / CONFIG_FILE
        config = json.loads(config_path.read_text()) if config_path.is_file() else {}
        target = torch.device(device)
        dtype = torch.float32
        if target.type == "cuda" and torch.cuda.is_bf16_supported():
            dtype = torch.bfloat16
        with torch.device("meta"):  # shapes only: the weights below are the only allocation
            model = TryOnModel.from_config(config)
        model.load_state_dict(load_file(folder / WEIGHTS_FILE, device="cpu"), strict=True, assign=True)
        model = model.to(device=target, dtype=dtype).eval()
        pose = DWPose.from_folder(folder / DWPOSE_DIR, device=device)
        return cls(model, pose, device=target, parsing=load_human_parser(device))

    # --- preprocessing ----------------------------------------------------------------

    def prepare(self, job: TryOn) -> Prepared:
        """Steps 1–4 for one try-on."""
        height, width = self.model.input_shape
        side = max(height, width)
        person = np.asarray(resize.pre_resize(Image.fromarray(job.person), side))
        garment = np.asarray(resize.pre_resize(Image.fromarray(job.garment), side))

        person_pose = self.pose(person[..., ::-1])  # DWPose reads BGR, as published
        garment_pose = self.pose(garment[..., ::-1]) if job.garment_worn else flat_lay_pose()
        person_skeleton = draw_skeleton(person_pose, *person.shape[:2])
        garment_skeleton = draw_skeleton(garment_pose, *garment.shape[:2])

        facts: dict[str, Any] = {"people_in_person_photo": person_pose.people}
        garment_in, facts["garment_segmentation"] = self._garment_input(job, garment)
        person_in, facts["person_input"] = self._person_input(job, person)

        framed_person, padding = resize.resize_and_pad(person_in, height, width)
        exact = cv2.INTER_NEAREST_EXACT
        return Prepared(
            person=_to_model(framed_person),
            person_pose=_to_model(resize.resize_and_pad(person_skeleton, height, width, exact)[0]),
            garment=_to_model(resize.resize_and_pad(garment_in, height, width)[0]),
            garment_pose=_to_model(resize.resize_and_pad(garment_skeleton, height, width, exact)[0]),
            padding=padding,
            size=(job.person.shape[1], job.person.shape[0]),
            facts=facts,
        )

    def _garment_input(self, job: TryOn, garment: np.ndarray) -> tuple[np.ndarray, str]:
        if not job.garment_worn:
            return garment, "none (flat-lay photo used whole)"
        if self.parsing is not None:
            labels = np.asarray(self.parsing.parser.predict(garment))
            keep = np.isin(labels, self.parsing.garment_ids(job.category))
            source = "FASHN human parser"
        elif job.garment_mask is not None:
            keep = cv2.resize(
                job.garment_mask.astype(np.uint8), (garment.shape[1], garment.shape[0]), interpolation=cv2.INTER_NEAREST
            ).astype(bool)
            source = "Fitroom CPU garment analysis"
        else:
            return garment, "none (no cut-out available)"
        cut = garment.copy()
        cut[~keep] = MASK_GREY
        return cut, source

    def _person_input(self, job: TryOn, person: np.ndarray) -> tuple[np.ndarray, str]:
        if job.segmentation_free or self.parsing is None:
            return person, "segmentation-free"
        masked = person.copy()
        labels = np.asarray(self.parsing.parser.predict(person))
        masked[agnostic_mask(labels, job.category, self.parsing)] = MASK_GREY
        return masked, "masked (FASHN human parser)"

    # --- generation ---------------------------------------------------------------------

    def generate(self, jobs: Sequence[TryOn], prepared: Sequence[Prepared], steps: int) -> list[list[np.ndarray]]:
        """Steps 5–6 for several try-ons in one sampler call: per try-on, its images."""
        height, width = self.model.input_shape
        channels = self.model.channels_in
        dtype = self.model.dtype
        # Noise is drawn on the CPU in float32 from each try-on's own seed: the same seed
        # gives the same noise on any device and in any batch.
        noise = torch.cat(
            [
                torch.randn((job.samples, channels, height, width), generator=torch.Generator().manual_seed(job.seed))
                for job in jobs
            ]
        ).to(device=self.device, dtype=dtype)

        def stack(name: str) -> torch.Tensor:
            return torch.cat(
                [getattr(p, name).expand(job.samples, -1, -1, -1) for job, p in zip(jobs, prepared, strict=True)]
            ).to(device=self.device, dtype=dtype)

        category = torch.tensor([job.category for job in jobs for _ in range(job.samples)], device=self.device)
        state = sample(
            self.model,
            noise,
            person=stack("person"),
            person_pose=stack("person_pose"),
            garment=stack("garment"),
            garment_pose=stack("garment_pose"),
            category=category,
            steps=steps,
            guidance_scale=GUIDANCE_SCALE,
        )
        # As the published code turns its [-1, 1] output into pixels: clamp, ×255, truncate.
        pixels = ((state.float().clamp(-1.0, 1.0) + 1.0) * 0.5 * 255.0).to(torch.uint8)
        pixels_np = pixels.permute(0, 2, 3, 1).cpu().numpy()
        images: list[list[np.ndarray]] = []
        at = 0
        for job, p in zip(jobs, prepared, strict=True):
            outputs = []
            for frame in pixels_np[at : at + job.samples]:
                unpadded = Image.fromarray(resize.unpad(frame, p.padding))
                outputs.append(np.asarray(resize.restore_size(unpadded, p.size)))
            images.append(outputs)
            at += job.samples
        return images


def _to_model(array: np.ndarray) -> torch.Tensor:
    """H×W or H×W×C uint8 -> (1, C, H, W) float32 in [-1, 1], as published (x / 127.5 - 1)."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    tensor = tensor[None] if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    return (tensor.float() / 127.5 - 1.0)[None]


def agnostic_mask(labels: np.ndarray, category: int, parsing: HumanParsing) -> np.ndarray:
    """What to hide of the person for ``segmentation_free=False``, from the parser's labels,
    following the published recipe: the garment's labels plus the limbs and torso it
    covers, grown by a small buffer and, more generously, by a smoothed outline kept within
    100 px (at 864 px height) of it, widened sideways; face, hair and the other identity
    labels, and the hands or feet the garment does not reach, are never hidden."""
    scale = labels.shape[0] / 864.0
    ids = parsing.ids
    covered = parsing.garment_ids(category)
    upper, lower = category in (1, 3), category in (2, 3)
    if upper:
        covered += [ids["arms"], ids["torso"]]
    if lower:
        covered += [ids["legs"]]
    base = np.isin(labels, covered)
    if not base.any():
        return base

    def dilate(mask: np.ndarray, kernel: np.ndarray, anchor: tuple[int, int] = (-1, -1)) -> np.ndarray:
        return cv2.dilate(mask.astype(np.uint8), kernel, anchor=anchor).astype(bool)

    buffer = max(1, int(4 * scale))
    buffered = dilate(base, np.ones((buffer, buffer), np.uint8))
    x, y, w, h = cv2.boundingRect(base.astype(np.uint8))
    bounded = np.zeros_like(base)
    bounded[y : y + h, x : x + w] = True
    radius = max(1, int(18 * scale))
    outline = _smooth_outline(base, radius)
    far = cv2.distanceTransform((~outline).astype(np.uint8), cv2.DIST_L2, 5) > 100.0 * scale
    hybrid = bounded & ~(far & ~outline)
    side, vertical = int(33 * scale), int(16 * scale)
    hybrid = dilate(hybrid, np.ones((2 * vertical + 1, 2 * side + 1), np.uint8), anchor=(side, vertical))
    keep = [ids[name] for name in parsing.identity_labels]
    keep += [ids["legs"]] if category == 1 else [ids["arms"]] if category == 2 else []
    keep += [ids["hands"]] if upper else []
    keep += [ids["feet"]] if lower else []
    return buffered | (hybrid & ~np.isin(labels, keep))


def _smooth_outline(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` as if painted with a soft brush of ``radius``: dilated, its signed distance
    field blurred, holes filled, and never smaller than ``mask``."""
    brush = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    grown = cv2.dilate(mask.astype(np.uint8), brush).astype(bool)
    outside = cv2.distanceTransform((~grown).astype(np.uint8), cv2.DIST_L2, 5)
    inside = cv2.distanceTransform(grown.astype(np.uint8), cv2.DIST_L2, 5)
    smooth = cv2.GaussianBlur(outside - inside, (0, 0), radius / 2.5, borderType=cv2.BORDER_REPLICATE) <= 0
    flood = (~smooth).astype(np.uint8)
    cv2.floodFill(flood, np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), np.uint8), (0, 0), (0,))
    return smooth | (flood == 1) | mask
