"""Make the GLMM panel helper of tests/inference importable (tests run in importlib mode)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "inference"))
