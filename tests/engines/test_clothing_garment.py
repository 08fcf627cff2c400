"""Garment cut-out on the hard case of product photos, a white garment on a white backdrop,
and the cache that makes a shop's garment cost its cut-out once."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from fitroom.engines.cpu import garment


def white_tee_on_white(size=(420, 560)) -> tuple[np.ndarray, np.ndarray]:
    """A bluish-white tee with a print across its chest only, on a near-white backdrop,
    its outline softened as studio light leaves it; and the tee's true mask."""
    w, h = size
    rng = np.random.default_rng(0)
    image = np.full((h, w, 3), 246.0) + rng.normal(0, 0.6, (h, w, 1))
    tee = Image.new("L", size, 0)
    cx = w // 2
    outline = [
        (cx - 110, 70), (cx - 40, 55), (cx, 75), (cx + 40, 55), (cx + 110, 70), (cx + 175, 150),
        (cx + 130, 185), (cx + 100, 150), (cx + 100, 500), (cx - 100, 500), (cx - 100, 150),
        (cx - 130, 185), (cx - 175, 150),
    ]
    ImageDraw.Draw(tee).polygon(outline, fill=255)
    truth = np.asarray(tee) > 0
    image[truth] = (231, 234, 241)
    chest = np.zeros_like(truth)
    chest[90:200, cx - 80 : cx + 80] = True
    image[chest & truth] = rng.integers(40, 220, size=((chest & truth).sum(), 3))  # the print
    image = cv2.GaussianBlur(image.astype(np.float32), (0, 0), 3)
    return np.clip(image, 0, 255).astype(np.uint8), truth


def test_white_garment_on_light_backdrop_is_cut_out_whole():
    image, truth = white_tee_on_white()
    mask = garment.remove_background(image)
    recall = (mask & truth).sum() / truth.sum()
    spill = (mask & ~truth).sum() / (~truth).sum()
    assert recall > 0.9, f"only {recall:.0%} of the tee was kept"
    assert spill < 0.03, f"{spill:.1%} of the backdrop was taken for garment"


def test_extraction_is_cached_by_content():
    from fitroom.options import PhotoType, Region

    image, _ = white_tee_on_white()
    garment.clear_cache()
    first = garment.extract(image, region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    again = garment.extract(image.copy(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    other = garment.extract(image, region=Region.FULL, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    assert again is first  # same pixels, same options: the same analysis
    assert other is not first  # options are part of the key


def test_a_worn_black_top_over_black_trousers_ends_at_its_hem():
    # A model in a black tee and near-black trousers (fashn_garment): by colour the two
    # are one garment, and the cut-out brought the trousers' top along, which then
    # showed as a band under every try-on. The hem is the horizontal edge across the
    # hips with different cloth below it.
    from fitroom.engines.cpu import person as persons
    from fitroom.options import Region
    from tests.engines.test_clothing_geometry import _stick_person

    img, wearer = _stick_person(False)
    img = img.copy()
    torso = wearer.binary & ~wearer.skin & ~wearer.head
    rows = np.arange(img.shape[0])[:, None]
    img[torso & (rows < 470)] = (18, 18, 20)  # the tee
    img[torso & (rows >= 470) & (rows < 474)] = (4, 4, 5)  # the shadow under its hem
    img[torso & (rows >= 474)] = (27, 27, 30)  # the trousers, a shade lighter
    assert (wearer.point(persons.L_HIP)[1] + 50) > 474  # the trousers' top is above the cut's end
    mask = garment.worn_mask(img, wearer, Region.UPPER)
    lowest = int(np.flatnonzero(mask[:, 290:311].any(axis=1)).max())
    assert 460 <= lowest <= 475, lowest  # the hem, its shadow at most
