"""Make the inference tests' helper module importable (tests run in importlib mode)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
