"""Glasses engine speed: median milliseconds per image at 1024×1024, warm.

    python benchmarks/bench_glasses.py [--persons DIR] [--glasses DIR] [--repeat N]

Every person photo is fitted into a 1024×1024 square and tried on with every pair (and
the default pair), ``--repeat`` times after one warm-up run. "Warm" means models loaded
and the pair already analysed (the engine caches analysed glasses by content, as a server
sees the same product photos again and again); what analysing a new pair costs is
measured on its own and printed too. Without the test photos (a fresh clone) it falls
back to scikit-image's astronaut and the default pair.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from statistics import median

import cv2
import numpy as np
from PIL import Image
from skimage import data

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.engines.cpu import glasses_asset
from fitroom.errors import NoFaceFound

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
SIZE = 1024
SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


def square(image: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Fit ``image`` into a size×size square, padding the short side with its edge."""
    scale = size / max(image.shape[:2])
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    dy, dx = size - resized.shape[0], size - resized.shape[1]
    return cv2.copyMakeBorder(resized, dy // 2, dy - dy // 2, dx // 2, dx - dx // 2, cv2.BORDER_REPLICATE)


def load_folder(folder: Path, mode: str) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(Image.open(p).convert(mode))
            for p in sorted(folder.iterdir()) if p.suffix.lower() in SUFFIXES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=Path, default=TESTDATA / "persons")
    parser.add_argument("--glasses", type=Path, default=TESTDATA / "glasses")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    if args.persons.is_dir():
        persons = {name: square(img) for name, img in load_folder(args.persons, "RGB").items()}
    else:
        print(f"{args.persons} not found: using scikit-image's astronaut")
        persons = {"astronaut": square(data.astronaut())}
    pairs: dict[str, np.ndarray | None] = {}
    if args.glasses.is_dir():
        pairs.update(load_folder(args.glasses, "RGBA"))
    pairs["default"] = None

    engine = registry.get("cpu-glasses")
    engine.warm_up()

    # Analysing a pair the process has not seen yet (cache cleared each time).
    new_pair_ms = []
    for image in (p for p in pairs.values() if p is not None):
        glasses_asset._cache.clear()
        start = time.perf_counter()
        glasses_asset.load_glasses(image)
        new_pair_ms.append(1000 * (time.perf_counter() - start))

    per_image, stages = [], {"faces": [], "glasses": [], "render": []}
    skipped = []
    for person_name, person in persons.items():
        for pair in pairs.values():
            images = {"person": person} if pair is None else {"person": person, "glasses": pair}
            request = EngineRequest(images=images)
            try:
                engine.run(request)  # warm-up: this pair analysed and cached
            except NoFaceFound:
                skipped.append(person_name)
                break
            runs = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                result = engine.run(request)
                runs.append(1000 * (time.perf_counter() - start))
                for stage in stages:
                    stages[stage].append(result.metadata["timings_ms"][stage])
            per_image.append(median(runs))

    print(f"{len(per_image)} images ({len(persons) - len(skipped)} persons × {len(pairs)} pairs) "
          f"at {SIZE}×{SIZE}, {args.repeat} runs each")
    if skipped:
        print(f"skipped, no face: {', '.join(skipped)}")
    print(f"median per image, warm: {median(per_image):.1f} ms   "
          f"(p90 {np.percentile(per_image, 90):.1f} ms, max {max(per_image):.1f} ms)")
    print("median by stage: " + ", ".join(f"{k} {median(v):.1f} ms" for k, v in stages.items()))
    if new_pair_ms:
        print(f"analysing a new glasses image (once per pair, then cached): median {median(new_pair_ms):.1f} ms")


if __name__ == "__main__":
    main()
