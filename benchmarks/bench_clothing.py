"""Median time per clothing try-on at 768×1024 on this machine, models warm.

Inputs: every person in --persons (resized to 768×1024) with every upper garment in
--garments (``upper/`` if present), default ../shared/testdata; without that folder,
scikit-image's astronaut (resized) and a drawn tee. Conditions, each the median over
all pairs, after one untimed warm-up run that loads the models:

  nothing cached   a new shopper and a new garment: both analyses computed in the run
  person cached    the same shopper, a new garment: the garment's cut-out computed
  both cached      the same shopper and a garment the server has seen before
  per effort       fast / balanced / quality, nothing cached and person cached

It also times a fixed OpenCV/NumPy workload once per pair, all through the run, and
prints its median and the cold try-on in units of it: machines of one kind drift by a
quarter or more in speed, and the ratio tells a slower host from a slower build.

Run:  .venv/bin/python benchmarks/bench_clothing.py [--persons DIR] [--garments DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.engines.cpu import garment as garments
from fitroom.engines.cpu import person as persons
from fitroom.eval.clothing import load_rgb
from fitroom.options import Effort, Region, TryOnOptions

SIZE = (768, 1024)
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"


def _inputs(persons_dir: Path, garments_dir: Path) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    if persons_dir.is_dir() and garments_dir.is_dir():
        people = [
            cv2.resize(load_rgb(p), SIZE, interpolation=cv2.INTER_AREA)
            for p in sorted(persons_dir.iterdir())
            if p.suffix.lower() in {".jpg", ".png", ".webp", ".jpeg"}
        ]
        folder = garments_dir / "upper" if (garments_dir / "upper").is_dir() else garments_dir
        clothes = [
            load_rgb(p) for p in sorted(folder.iterdir()) if p.suffix.lower() in {".jpg", ".png", ".webp", ".jpeg"}
        ]
        return people, clothes, f"{len(people)} persons from {persons_dir}, {len(clothes)} garments from {folder}"
    from skimage import data

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for the tests' drawn tee
    from tests.engines.test_clothing_geometry import draw_tee

    return [cv2.resize(data.astronaut(), SIZE)], [draw_tee()], "skimage astronaut resized to 768x1024, a drawn tee"


def _time(engine, person: np.ndarray, garment: np.ndarray, options: TryOnOptions) -> float:
    start = time.perf_counter()
    engine.run(EngineRequest(images={"person": person, "garment": garment}, options=options))
    return (time.perf_counter() - start) * 1000


_REFERENCE_INPUT = np.random.default_rng(0).random((1024, 768, 3), dtype=np.float32)


def _reference() -> float:
    """One run of the fixed workload (ms): a blur, a resize and a median of a 768×1024
    float image, the kind of work a try-on is made of."""
    start = time.perf_counter()
    small = cv2.resize(cv2.GaussianBlur(_REFERENCE_INPUT, (0, 0), 3.0), (384, 512), interpolation=cv2.INTER_AREA)
    float(np.median(small))
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=Path, default=DEFAULT_DATA / "persons")
    parser.add_argument("--garments", type=Path, default=DEFAULT_DATA / "garments")
    parser.add_argument("--repeat", type=int, default=1, help="passes over all pairs")
    args = parser.parse_args()
    people, clothes, described = _inputs(args.persons, args.garments)
    engine = registry.get("cpu-clothing")
    engine.warm_up()
    options = TryOnOptions(region=Region.UPPER)
    _time(engine, people[0], clothes[0], options)  # loads every model once
    print(f"inputs: {described}; person images 768x1024; region upper; {args.repeat} pass(es)")

    cold, person_cached, both_cached, reference = [], [], [], []
    per_effort: dict[Effort, list[float]] = {effort: [] for effort in Effort}
    per_effort_cold: dict[Effort, list[float]] = {effort: [] for effort in Effort}
    for _ in range(args.repeat):
        for person in people:
            for garment in clothes:
                reference.append(_reference())
                persons.clear_cache()
                garments.clear_cache()
                cold.append(_time(engine, person, garment, options))
                garments.clear_cache()
                person_cached.append(_time(engine, person, garment, options))
                both_cached.append(_time(engine, person, garment, options))
                for effort in Effort:
                    at_effort = options.model_copy(update={"effort": effort})
                    garments.clear_cache()
                    per_effort[effort].append(_time(engine, person, garment, at_effort))
                    persons.clear_cache()
                    garments.clear_cache()
                    per_effort_cold[effort].append(_time(engine, person, garment, at_effort))
    n = len(cold)
    print(f"median per try-on, warm, nothing cached:        {statistics.median(cold):7.1f} ms  (n={n})")
    print(f"median per try-on, warm, person analysis cached: {statistics.median(person_cached):7.1f} ms  (n={n})")
    print(f"median per try-on, warm, person and garment cached: {statistics.median(both_cached):7.1f} ms  (n={n})")
    host = statistics.median(reference)
    print(
        f"host reference (fixed OpenCV/NumPy workload, once per pair): {host:7.1f} ms;"
        f" nothing cached = {statistics.median(cold) / host:.1f} references"
    )
    for effort, times in per_effort.items():
        cold_times = per_effort_cold[effort]
        print(
            f"  effort {effort.value:<8} nothing cached: {statistics.median(cold_times):7.1f} ms,"
            f" person cached: {statistics.median(times):7.1f} ms"
        )


if __name__ == "__main__":
    main()
