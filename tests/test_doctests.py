"""The examples in the code's docstrings are tests too (they went stale unseen before)."""

from __future__ import annotations

import doctest
import importlib

import pytest

from tests.test_architecture import project_modules

WITH_EXAMPLES = sorted(
    name for name, path in project_modules().items() if ">>> " in path.read_text(encoding="utf-8")
)


def test_modules_with_examples_are_found() -> None:
    assert "service.policy" in WITH_EXAMPLES and "core.labels" in WITH_EXAMPLES


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
