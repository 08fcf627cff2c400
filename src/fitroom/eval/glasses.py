"""Glasses eval: every person with every pair, measured and put on one contact sheet.

Per image it reports the alignment error (distance from each placed lens centre to its
pupil, over the inter-pupil distance), the angle between the placed frame's lens line and
the eye line, and the engine's wall time. The placed lens centres are the glasses asset's
detected lens centres carried through the very transform the engine applied; the pupils
are the face analysis's. The sheet shows each result cropped around the faces, so the fit
can be judged by eye where the numbers cannot tell (a frame can be centred and still look
wrong).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np
from PIL import Image

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.engines.cpu.glasses_asset import default_glasses, load_glasses
from fitroom.errors import FitroomError
from fitroom.eval.sheet import save_contact_sheet

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
DEFAULT_PAIR = "default"


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def placement_errors(placement: dict[str, Any]) -> tuple[float, float]:
    """(alignment error in inter-pupil distances, angle error in degrees) of one face."""
    pupils = np.asarray(placement["pupils"], float)
    lenses = np.asarray(placement["lens_centres"], float)
    ipd = float(np.linalg.norm(pupils[1] - pupils[0]))
    alignment = float(np.linalg.norm(lenses - pupils, axis=1).mean()) / ipd
    eye, frame = pupils[1] - pupils[0], lenses[1] - lenses[0]
    angle = math.degrees(math.atan2(frame[1], frame[0]) - math.atan2(eye[1], eye[0]))
    return alignment, abs((angle + 180) % 360 - 180)


def _face_crop(image: np.ndarray, placements: list[dict[str, Any]]) -> np.ndarray:
    """A square around all faces, wide enough to see the frame against the head."""
    pupils = np.concatenate([np.asarray(p["pupils"]) for p in placements])
    half = 0.8 * max(p["face_width_px"] for p in placements)
    lo = np.floor(pupils.min(axis=0) - half).astype(int).clip(0)
    hi = np.ceil(pupils.max(axis=0) + half).astype(int)
    return image[lo[1]:hi[1], lo[0]:hi[0]]


def _failures(records: list[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """Failed runs as {error code: {person: [glasses, ...]}}."""
    failed: dict[str, dict[str, list[str]]] = {}
    for r in records:
        if "error" in r:
            failed.setdefault(r["error"], {}).setdefault(r["person"], []).append(r["glasses"])
    return failed


def run_glasses_eval(persons: Path, glasses: Path, out: Path) -> dict[str, Any]:
    """Run the default glasses engine on every person × every pair (and the default pair);
    write ``glasses_sheet.png`` and ``glasses_metrics.json`` under ``out``; return the
    metrics (per image and the overall medians)."""
    engine = registry.get("cpu-glasses")
    engine.warm_up()
    pairs: dict[str, np.ndarray | None] = {p.stem: np.asarray(Image.open(p).convert("RGBA"))
                                           for p in _images(glasses)}
    pairs[DEFAULT_PAIR] = None

    header, header_captions = [], []
    for name, pair in pairs.items():
        try:
            asset = default_glasses() if pair is None else load_glasses(pair)
            preview = asset.preview()
            pad = max(0, preview.shape[1] - preview.shape[0]) // 2  # square, like the crops
            header.append(np.pad(preview, ((pad, pad), (0, 0), (0, 0)), constant_values=255))
            header_captions.append(f"{name[:22]} {asset.view_angle_deg:.0f}deg")
        except FitroomError as exc:
            header.append(np.full((64, 160, 3), 255, np.uint8))
            header_captions.append(f"{name[:22]}: {exc.code}")

    rows, captions, records = [header], [header_captions], []
    for person_path in _images(persons):
        person = np.asarray(Image.open(person_path).convert("RGB"))
        row: list[np.ndarray] = []
        row_captions: list[str] = []
        for name, pair in pairs.items():
            images = {"person": person} if pair is None else {"person": person, "glasses": pair}
            record: dict[str, Any] = {"person": person_path.name, "glasses": name}
            start = time.perf_counter()
            try:
                result = engine.run(EngineRequest(images=images))
            except FitroomError as exc:
                record.update(error=exc.code, message=exc.message)
                records.append(record)
                if not row:  # one cell says it; a row of identical failures says nothing more
                    row.append(person)
                    row_captions.append(exc.code)
                continue
            record["ms"] = round(1000 * (time.perf_counter() - start), 1)
            placements = result.metadata["placements"]
            errors = [placement_errors(p) for p in placements]
            record.update(
                faces=len(placements),
                alignment_error=round(max(e[0] for e in errors), 4),
                angle_error_deg=round(max(e[1] for e in errors), 3),
                timings_ms=result.metadata["timings_ms"],
                placements=placements,
            )
            records.append(record)
            row.append(_face_crop(result.images[0], placements))
            row_captions.append(f"{name[:14]} a={record['alignment_error']:.3f}")
        rows.append(row)
        captions.append([f"{person_path.name}: {c}" if i == 0 else c for i, c in enumerate(row_captions)])

    measured = [r for r in records if "error" not in r]
    summary = {
        "images": len(records),
        "measured": len(measured),
        "failed": _failures(records),
        "median_alignment_error": median(r["alignment_error"] for r in measured) if measured else None,
        "median_angle_error_deg": median(r["angle_error_deg"] for r in measured) if measured else None,
        "median_ms": median(r["ms"] for r in measured) if measured else None,
        "max_alignment_error": max((r["alignment_error"] for r in measured), default=None),
        "max_angle_error_deg": max((r["angle_error_deg"] for r in measured), default=None),
    }
    out.mkdir(parents=True, exist_ok=True)
    sheet = save_contact_sheet(out / "glasses_sheet.png", rows, captions, cell_height=200)
    metrics = {"summary": summary, "sheet": str(sheet), "per_image": records}
    (out / "glasses_metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics
