"""Clothing try-on metrics, as the issue defines them.

- coverage: share of the body between shoulders and hips (for bottoms: hips and knees)
  that the try-on mask covers; the silhouette inside that quadrilateral is the base.
- preservation: mean absolute change outside the try-on mask, in grey levels (0 is a
  perfect keep of face, skin and background).
- colour difference: CIEDE2000 between the garment's dominant colour and the result's
  dominant colour inside the try-on mask.
- old-garment residue: of the person's pixels inside the convex hull of shoulders,
  elbows and hips whose colour is within 12 CIELAB units of the original torso's median
  colour (the old garment), the share whose colour in the result is still within 12
  units of it (the old garment still showing). Not defined (``None``) when the new
  garment's dominant colour is within 20 units of the old one: then "still that colour"
  cannot tell old from new.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

from fitroom.engines.cpu import person as persons
from fitroom.options import Region

RESIDUE_RADIUS = 12.0  # CIELAB units: "the old garment's colour"
RESIDUE_MIN_CONTRAST = 20.0  # new garments closer than this to the old colour are not counted


def body_zone(analysis: persons.PersonAnalysis, region: Region) -> np.ndarray:
    """The silhouette inside the shoulders–hips quadrilateral (hips–knees for bottoms)."""
    p = analysis.point
    if region is Region.LOWER:
        quad = [p(persons.L_HIP), p(persons.R_HIP), p(persons.R_KNEE), p(persons.L_KNEE)]
    else:
        quad = [p(persons.L_SHOULDER), p(persons.R_SHOULDER), p(persons.R_HIP), p(persons.L_HIP)]
    zone = np.zeros(analysis.shape, np.uint8)
    cv2.fillPoly(zone, [np.round(np.array(quad)).astype(np.int32)], (1,))
    return zone.astype(bool) & analysis.binary


def coverage(mask: np.ndarray, zone: np.ndarray) -> float:
    total = int(zone.sum())
    return float((mask & zone).sum() / total) if total else 0.0


def preservation(person: np.ndarray, result: np.ndarray, mask: np.ndarray) -> float:
    outside = ~mask
    if not outside.any():
        return 0.0
    diff = np.abs(person.astype(np.int16) - result.astype(np.int16)).mean(axis=2)
    return float(diff[outside].mean())


def dominant_colour(rgb: np.ndarray, mask: np.ndarray, clusters: int = 3) -> np.ndarray:
    """Lab centre of the largest k-means cluster of the masked pixels (seeded: repeatable)."""
    pixels = rgb[mask].reshape(-1, 3)
    if len(pixels) > 20000:
        pixels = pixels[np.linspace(0, len(pixels) - 1, 20000).astype(int)]
    lab = rgb2lab(pixels[None].astype(np.float64) / 255.0)[0].astype(np.float32)
    k = min(clusters, len(lab))
    cv2.setRNGSeed(0)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    # OpenCV's stubs make bestLabels required, but None (no initial labels) is its documented use.
    _, labels, centres = cv2.kmeans(lab, k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)  # type: ignore[call-overload]
    counts = np.bincount(labels.ravel(), minlength=k)
    return centres[int(np.argmax(counts))]


def colour_difference(garment_rgb: np.ndarray, garment_mask: np.ndarray, result: np.ndarray, mask: np.ndarray) -> float:
    if not garment_mask.any() or not mask.any():
        return float("nan")
    a = dominant_colour(garment_rgb, garment_mask)
    b = dominant_colour(result, mask)
    return float(deltaE_ciede2000(a[None].astype(np.float64), b[None].astype(np.float64))[0])


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (L 0..100) of an RGB uint8 image, the same scale as scikit-image's."""
    return cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]).astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def old_garment_zone(analysis: persons.PersonAnalysis) -> np.ndarray:
    """The person's pixels inside the convex hull of shoulders, elbows and hips."""
    p = analysis.point
    joints = (persons.L_SHOULDER, persons.R_SHOULDER, persons.L_ELBOW, persons.R_ELBOW, persons.L_HIP, persons.R_HIP)
    points = np.array([p(i) for i in joints])
    hull = cv2.convexHull(np.round(points).astype(np.int32))
    zone = np.zeros(analysis.shape, np.uint8)
    cv2.fillConvexPoly(zone, hull, (1,))
    return zone.astype(bool) & analysis.binary


def old_garment_colour(person: np.ndarray, analysis: persons.PersonAnalysis) -> np.ndarray:
    """The original torso's median colour (Lab): the person inside shoulders and hips."""
    torso = body_zone(analysis, Region.UPPER)
    lab = _lab(person)
    return np.median(lab[torso if torso.any() else analysis.binary], axis=0)


def residue_map(
    person: np.ndarray, result: np.ndarray, analysis: persons.PersonAnalysis
) -> tuple[np.ndarray, np.ndarray]:
    """(old-garment pixels of the zone, those of them still the old colour in the result)."""
    median = old_garment_colour(person, analysis)
    zone = old_garment_zone(analysis)
    old = zone & (np.linalg.norm(_lab(person) - median, axis=2) < RESIDUE_RADIUS)
    still = old & (np.linalg.norm(_lab(result) - median, axis=2) < RESIDUE_RADIUS)
    return old, still


def old_garment_residue(
    person: np.ndarray, result: np.ndarray, analysis: persons.PersonAnalysis, garment_lab: np.ndarray
) -> float | None:
    """The share of the old garment still showing (see the module's docstring), or
    ``None`` when the new garment is too close in colour to the old one to tell."""
    median = old_garment_colour(person, analysis)
    if float(np.linalg.norm(np.asarray(garment_lab, np.float64) - median)) < RESIDUE_MIN_CONTRAST:
        return None
    old, still = residue_map(person, result, analysis)
    total = int(old.sum())
    return float(still.sum() / total) if total else 0.0
