"""Times the GLMM core fits of the benchmark models (not a test).

    PYTHONPATH=src python tests/core/glm/time_glmm_fits.py [repeats]

Prints, per model, the best wall and CPU seconds of ``repeats`` fits (problem built
outside the timing), the evaluations, and lme4's time from the reference fit.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from glmm_oracle import case  # noqa: E402

from mixed_models.core.glm.fit import fit_glmm  # noqa: E402

MODELS = ["cbpp_binomial", "grouseticks_poisson", "verbagg_binomial"]
LME4 = {"cbpp_binomial": 0.295, "grouseticks_poisson": 1.28, "verbagg_binomial": 3.83}


def main(repeats: int) -> None:
    for model_id in MODELS:
        c = case(model_id)
        walls, cpus = [], []
        for _ in range(repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            fit = fit_glmm(c.problem, n_agq=c.n_agq)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        gap = fit.objective - c.fit["objective_full"]
        print(f"{model_id:22s} wall {min(walls):.3f} s  cpu {min(cpus):.3f} s  "
              f"evaluations {fit.evaluations:4d}  objective - lme4 best {gap:+.1e}  "
              f"lme4 {LME4[model_id]} s (target {LME4[model_id] / 10:.3f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
