"""The ``mixed-models`` command."""

from __future__ import annotations

import argparse
import sys

DEMO_FORMULA = "Aggression ~ Age + Species + (Age | Location)"


def _demo(args: argparse.Namespace) -> int:
    from mixed_models import LMM, datasets
    from mixed_models.display import render_text

    data = datasets.load("alien_species")
    model = LMM.from_formula(DEMO_FORMULA, data)
    print("The Ruby gem mixed_models' example: alien species' aggression by age and species,")
    print("with a random intercept and age slope for each location (bundled data set).\n")
    print(render_text(model))
    print("\nRandom effects (conditional modes):")
    print(model.ran_ef_table().to_string(index=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command."""
    parser = argparse.ArgumentParser(
        prog="mixed-models",
        description="Fit linear mixed models written in lme4's formula language.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fit the gem's alien-species example and print it")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``mixed-models``."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
