"""matplotlib stays optional: not imported by the package, and a clear error without it."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_import_does_not_load_matplotlib():
    result = _run("""
        import sys
        import mixed_models, mixed_models.plotting, mixed_models.display, mixed_models.report
        import mixed_models.cli
        from mixed_models import LMM, datasets
        model = LMM.from_formula("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"))
        str(model); model._repr_html_()
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "matplotlib")
        print(loaded)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_plotting_without_matplotlib_says_how_to_install_it():
    result = _run("""
        import sys
        sys.modules["matplotlib"] = None  # what an absent package looks like to import
        from mixed_models import LMM, datasets, plotting
        from mixed_models.errors import OptionalDependencyError
        model = LMM.from_formula("Yield ~ 1 + (1 | Batch)", datasets.load("dyestuff"))
        for draw in (plotting.qq_plot, plotting.caterpillar, lambda m: m.plot_diagnostics()):
            try:
                draw(model)
            except OptionalDependencyError as exc:
                assert isinstance(exc, ImportError)
                print(exc)
            else:
                raise SystemExit("no error")
    """)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3
    for line in lines:
        assert "plotting needs matplotlib" in line
        assert "pip install 'mixed_models[plot]'" in line
