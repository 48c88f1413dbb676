"""The evaluation context's names, written out so that no formulaic import is needed."""

from __future__ import annotations

from formulaic.transforms import TRANSFORMS

from mixed_models.design.evaluation import FORMULAIC_NAMES, RESERVED, is_plain, safe_context


def test_formulaic_names_cover_the_installed_formulaic():
    # a name formulaic resolves by itself must be renamed when it is a column's name
    assert set(TRANSFORMS) <= FORMULAIC_NAMES


def test_reserved_names_cover_the_evaluation_context():
    assert set(safe_context()) <= RESERVED
    assert not any(is_plain(name) for name in safe_context())
