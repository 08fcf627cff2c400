"""The old-garment residue of ``fitroom eval``: the share of the person's old garment
that still shows in a result (see ``fitroom.eval.metrics``)."""

from __future__ import annotations

import numpy as np
from skimage import data

from fitroom.engines.cpu import person as persons
from fitroom.eval import metrics


def test_residue_is_the_share_of_the_old_garment_still_showing():
    person = data.astronaut()
    analysis, _ = persons.analyze(person)
    far = np.array([50.0, 80.0, -60.0])  # a saturated violet, far from the white suit
    # nothing changed: all of the old garment still shows
    assert metrics.old_garment_residue(person, person, analysis, far) == 1.0
    old, _ = metrics.residue_map(person, person, analysis)
    assert old.sum() > 1000  # the suit inside shoulders, elbows and hips
    # the lower half of it repainted violet: about half still shows
    ys = np.nonzero(old)[0]
    result = person.copy()
    result[(np.arange(person.shape[0])[:, None] > np.median(ys)) & old] = (150, 40, 220)
    residue = metrics.old_garment_residue(person, result, analysis, far)
    assert residue is not None and 0.4 < residue < 0.6
    # all of it repainted: none shows
    result[old] = (150, 40, 220)
    assert metrics.old_garment_residue(person, result, analysis, far) == 0.0


def test_a_new_garment_of_the_old_colour_is_not_counted():
    person = data.astronaut()
    analysis, _ = persons.analyze(person)
    suit = metrics.old_garment_colour(person, analysis)
    assert metrics.old_garment_residue(person, person, analysis, suit + [5.0, 0.0, 0.0]) is None
