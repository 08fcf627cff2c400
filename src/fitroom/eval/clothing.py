"""``fitroom eval`` for the clothing engine: every person with every garment, a contact
sheet and metrics per pair, medians overall.

Tops go on every person; bottoms and dresses only on people whose photo shows them down
to the ankles (a bottom on a half-body photo is refused by the engine anyway, and would
only measure that refusal). A garments folder without ``upper/``, ``lower/`` and
``dresses/`` subfolders is treated as one folder of garments whose category is ``auto``.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.engines.cpu import clothing as clothing_engine
from fitroom.engines.cpu import garment as garments
from fitroom.engines.cpu import person as persons
from fitroom.errors import EngineError
from fitroom.eval import metrics
from fitroom.eval.sheet import save_contact_sheet
from fitroom.options import PhotoType, Region, TryOnOptions

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
CATEGORY_FOLDERS = {"upper": Region.UPPER, "lower": Region.LOWER, "dresses": Region.FULL}


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _garment_list(folder: Path) -> list[tuple[Path, Region]]:
    found = [
        (p, region)
        for name, region in CATEGORY_FOLDERS.items()
        if (folder / name).is_dir()
        for p in _images(folder / name)
    ]
    return found or [(p, Region.AUTO) for p in _images(folder)]


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v == v]  # drop NaN
    return round(statistics.median(values), 3) if values else None


def run_clothing_eval(persons_dir: Path, garments_dir: Path, out: Path) -> dict[str, Any]:
    """Run every pair, write ``pairs/*.png`` + ``pairs/*.json``, ``sheet.png`` and
    ``metrics.json`` under ``out``; return the overall metrics."""
    engine = registry.get("cpu-clothing")
    engine.warm_up()
    pairs_dir = out / "pairs"
    pairs_dir.mkdir(parents=True, exist_ok=True)
    garment_list = _garment_list(garments_dir)
    results: list[dict[str, Any]] = []
    sheet_rows, sheet_captions = [], []
    persons_found = 0
    person_paths = _images(persons_dir)
    for person_path in person_paths:
        person_rgb = load_rgb(person_path)
        try:
            analysis, _ = persons.analyze(person_rgb)
        except EngineError as exc:
            results.append({"person": person_path.name, "error": exc.code})
            continue
        persons_found += 1
        full_body = analysis.visible(persons.L_ANKLE, persons.R_ANKLE)
        row, captions = [person_rgb], [person_path.name]
        for garment_path, region in garment_list:
            if region in (Region.LOWER, Region.FULL) and not full_body:
                continue
            garment_rgb = load_rgb(garment_path)
            record = _run_pair(engine, person_rgb, garment_rgb, region, person_path.name, garment_path.name)
            results.append(record)
            if "result" in record:
                result = record.pop("result")
                mask = record.pop("mask")
                stem = f"{person_path.stem}__{garment_path.stem}"
                residue = record["residue"]
                summary = f"cov {record['coverage']:.2f} dE {record['colour_difference']:.1f}" + (
                    f" res {residue:.2f}" if residue is not None else ""
                )
                save_contact_sheet(
                    pairs_dir / f"{stem}.png",
                    [[person_rgb, garment_rgb, result, mask, _residue_picture(person_rgb, result, analysis)]],
                    [[person_path.name, garment_path.name, summary, "mask", "old garment still showing (red)"]],
                )
                (pairs_dir / f"{stem}.json").write_text(json.dumps(record, indent=2))
                row.append(result)
                captions.append(f"{garment_path.stem} {record['region']}")
            else:
                row.append(np.full_like(person_rgb, 235))
                captions.append(f"{garment_path.stem}: {record['error']}")
        sheet_rows.append(row)
        sheet_captions.append(captions)
    ok = [r for r in results if "coverage" in r]
    overall = {
        "persons": len(person_paths),
        "persons_found": persons_found,
        "pairs": len(ok),
        "errors": {f"{r['person']}/{r.get('garment', '')}": r["error"] for r in results if "error" in r},
        "median_coverage": _median([r["coverage"] for r in ok]),
        "median_preservation": _median([r["preservation"] for r in ok]),
        "median_colour_difference": _median([r["colour_difference"] for r in ok]),
        "median_time_ms": _median([r["time_ms"] for r in ok]),
        # the old garment still showing, over tops and dresses (bottoms leave the top alone)
        "median_residue_upper_full": _median(
            [r["residue"] for r in ok if r["region"] != Region.LOWER.value and r["residue"] is not None]
        ),
        "residue_pairs_counted": sum(1 for r in ok if r["region"] != Region.LOWER.value and r["residue"] is not None),
        "worst_residue": [
            f"{r['person']}/{r['garment']}: {r['residue']:.3f}"
            for r in sorted(
                (r for r in ok if r["region"] != Region.LOWER.value and r["residue"] is not None),
                key=lambda r: -r["residue"],
            )[:8]
        ],
        "old_garment_visible_share_of_pairs": (
            round(sum(r["old_garment_visible"] for r in ok) / len(ok), 3) if ok else None
        ),
        "old_garment_removed_share_of_pairs": (
            round(sum(r["old_garment_removed"] for r in ok) / len(ok), 3) if ok else None
        ),
        "sheet": str(out / "sheet.png"),
    }
    # A header row of the garments themselves, column above column: tops come first in
    # every row, so the columns line up even where half-body rows stop early.
    header = [np.full((1024, 768, 3), 255, np.uint8)] + [load_rgb(p) for p, _ in garment_list]
    header_captions = ["garments"] + [f"{p.stem} ({r.value})" for p, r in garment_list]
    save_contact_sheet(
        out / "sheet.png",
        [header, *sheet_rows],
        [header_captions, *sheet_captions],
        cell_height=192,
    )
    (out / "metrics.json").write_text(json.dumps({"overall": overall, "pairs": results}, indent=2))
    return overall


def _run_pair(
    engine, person_rgb: np.ndarray, garment_rgb: np.ndarray, region: Region, person_name: str, garment_name: str
) -> dict[str, Any]:
    record: dict[str, Any] = {"person": person_name, "garment": garment_name, "category": region.value}
    options = TryOnOptions(region=region)
    start = time.perf_counter()
    try:
        result = engine.run(EngineRequest(images={"person": person_rgb, "garment": garment_rgb}, options=options))
    except EngineError as exc:
        record["error"] = exc.code
        return record
    record["time_ms"] = round((time.perf_counter() - start) * 1000, 1)
    image = result.images[0]
    mask_request = EngineRequest(images={"person": person_rgb, "garment": garment_rgb}, options=options)
    # coverage is the new garment's; preservation is judged outside everything changed
    mask, changed = clothing_engine.garment_and_change_masks(mask_request)
    chosen = Region(result.metadata["region"])
    analysis, _ = persons.analyze(person_rgb)
    g = garments.extract(garment_rgb, region=chosen, photo_type=PhotoType.AUTO, preprocess=True)
    record.update(
        region=chosen.value,
        photo_type=result.metadata["photo_type"],
        coverage=round(metrics.coverage(mask, metrics.body_zone(analysis, chosen)), 3),
        preservation=round(metrics.preservation(person_rgb, image, changed), 3),
        colour_difference=round(metrics.colour_difference(g.rgb, g.mask, image, mask), 2),
        residue=_rounded(
            metrics.old_garment_residue(person_rgb, image, analysis, metrics.dominant_colour(g.rgb, g.mask))
        ),
        old_garment_visible=bool(result.metadata["old_garment_visible"]),
        old_garment_visible_share=result.metadata["old_garment_visible_share"],
        old_garment_removed=bool(result.metadata["old_garment_removed"]),
        result=image,
        mask=mask,
    )
    return record


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _residue_picture(person: np.ndarray, result: np.ndarray, analysis: persons.PersonAnalysis) -> np.ndarray:
    """The result, greyed, with the old garment's pixels that still show in red and those
    the try-on replaced in green: where to look for necklines, straps and sleeves."""
    old, still = metrics.residue_map(person, result, analysis)
    grey = result.mean(axis=2, keepdims=True).astype(np.uint8)
    picture = np.repeat(grey, 3, axis=2) // 2 + 64
    picture[old & ~still] = (40, 170, 60)
    picture[still] = (230, 30, 30)
    return picture
