"""The ``mixed-models`` command: fit a model from a data file, or run the demo.

Errors (a missing file, a bad formula, a column that is not in the data...) are
printed as one line on stderr with exit status 1, never as a traceback (``--traceback``
shows it, for bug reports). Warnings of the fit are not printed as Python warnings:
they are the "Messages" section of the summary.

Outputs (``--json``, ``--report``) are written atomically (a temporary file, then a
rename), never onto the data file (compared after following links, and as the same file
on disk when it exists) and never two onto one path: those are refused before the fit.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any

DEMO_FORMULA = "Aggression ~ Age + Species + (Age | Location)"
DEMO_REPORT = Path("build") / "alien_species_report.html"
DDF_CHOICES = ("wald", "satterthwaite", "kenward-roger")
PARQUET_HINT = "pip install 'mixed_models[parquet]'"


class CliError(Exception):
    """A problem to report on one line (bad arguments, unreadable file)."""


# --- data ------------------------------------------------------------------------------

def read_data(path: str) -> Any:
    """Read a CSV, TSV or Parquet file into a pandas DataFrame."""
    import pandas as pd

    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".tsv", ".txt", ".parquet", ".pq"):
        raise CliError(f"cannot read {path!r}: unknown file type {suffix or '(none)'!r}; "
                       "use a .csv, .tsv or .parquet file")
    if not file.is_file():
        raise CliError(f"no such data file: {path!r}")
    try:
        if suffix in (".parquet", ".pq"):
            return _read_parquet(file)
        return pd.read_csv(file, sep="," if suffix == ".csv" else "\t")
    except pd.errors.EmptyDataError:
        raise CliError(f"the data file {path!r} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise CliError(f"cannot read {path!r}: {_first_line(exc)}") from None


def _read_parquet(file: Path) -> Any:
    import pandas as pd

    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise CliError(f"reading Parquet needs pyarrow, which is not installed; install it "
                       f"with: {PARQUET_HINT}") from None
    return pd.read_parquet(file)


# --- commands --------------------------------------------------------------------------

def _fit_model(formula: str, data: Any, args: argparse.Namespace) -> Any:
    from mixed_models.fitted import fit_formula

    with warnings.catch_warnings():
        # the fit's warnings are stored on the model and shown in its summary
        warnings.simplefilter("ignore")
        return fit_formula(formula, data, reml=not args.ml, weights=args.weights,
                           offset=args.offset)


def _outputs(model: Any, args: argparse.Namespace) -> None:
    from mixed_models.display import summarize
    from mixed_models.display.escape import printable
    from mixed_models.display.export import write_json

    print(summarize(model, ddf=args.ddf).to_text())
    if args.json:
        path = write_json(model, args.json, ddf=args.ddf)
        print(f"\nEstimates written to {printable(path)}")
    if args.report:
        from mixed_models.report import write_report

        path = write_report(model, args.report, ddf=args.ddf)
        print(f"\nReport written to {printable(path.resolve())}")


def same_file(first: str | Path, second: str | Path) -> bool:
    """Whether two paths name one file: equal once links are followed, or (when both
    exist) the same file on disk, which also catches hard links."""
    if Path(first).resolve() == Path(second).resolve():
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet)
        return False


def check_output_paths(args: argparse.Namespace) -> None:
    """Refuse, before any work, an output onto an input file or two outputs on one path."""
    inputs = [("--data", args.data)] if getattr(args, "data", None) else []
    outputs = [(option, path) for option, path in (("--json", args.json),
                                                   ("--report", args.report)) if path]
    for option, path in outputs:
        for input_option, input_path in inputs:
            if same_file(path, input_path):
                raise CliError(f"{option} {path!r} is the input file ({input_option} "
                               f"{input_path!r}); choose another output path")
    for i, (option, path) in enumerate(outputs):
        for other_option, other in outputs[i + 1:]:
            if same_file(path, other):
                raise CliError(f"{option} {path!r} and {other_option} {other!r} are the same "
                               "file; give each output its own path")


def _require_plotting(args: argparse.Namespace) -> None:
    """Fail before fitting when a report is asked for and matplotlib is missing."""
    if args.report:
        from mixed_models.plotting._backend import pyplot

        pyplot()


def _fit(args: argparse.Namespace) -> int:
    check_output_paths(args)
    _require_plotting(args)
    data = read_data(args.data)
    model = _fit_model(args.formula, data, args)
    _outputs(model, args)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from mixed_models import datasets

    check_output_paths(args)
    _require_plotting(args)
    data = datasets.load("alien_species")
    print("The Ruby gem mixed_models' example: the aggression of alien species by age and")
    print("species, with a random intercept and age slope for each location (bundled data")
    print(f"set 'alien_species', {len(data)} rows).\n")
    model = _fit_model(DEMO_FORMULA, data, args)
    _outputs(model, args)
    return 0


# --- parser ----------------------------------------------------------------------------

def _add_output_options(parser: argparse.ArgumentParser, report_default: Path | None) -> None:
    parser.add_argument("--traceback", action="store_true",
                        help="on an error, show the Python traceback (for bug reports)")
    parser.add_argument("--ml", action="store_true",
                        help="fit by maximum likelihood instead of REML (the default)")
    parser.add_argument("--ddf", choices=DDF_CHOICES, default=None,
                        help="tests of the fixed effects in the summary: Wald z tests, or t "
                             "tests with Satterthwaite's or Kenward-Roger's degrees of "
                             "freedom (default: Satterthwaite, as lmerTest)")
    parser.add_argument("--json", metavar="OUT.json",
                        help="also write every estimate (fixed effects with their tests and "
                             "covariance, variance components, theta, conditional modes, "
                             "fitted values, residuals, messages) to this JSON file")
    report_help = ("write a self-contained HTML report (summary tables and diagnostic "
                   "plots; needs matplotlib) to this file")
    if report_default is None:
        parser.add_argument("--report", metavar="OUT.html", help=report_help)
    else:
        parser.add_argument("--report", metavar="OUT.html", default=str(report_default),
                            help=report_help + f" (default: {report_default})")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command."""
    parser = argparse.ArgumentParser(
        prog="mixed-models",
        description="Fit linear mixed models written in lme4's formula language, print an "
                    "lme4-style summary, and write the estimates (JSON) and a report (HTML).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}",
                        help="print the version of mixed_models and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = sub.add_parser(
        "fit", help="fit a model to a CSV or Parquet file and print its summary",
        description="Fit a linear mixed model to a data file and print its summary.",
        epilog='example: mixed-models fit "Reaction ~ Days + (Days | Subject)" '
               "--data sleepstudy.csv --json fit.json --report fit.html")
    fit.add_argument("formula", metavar="FORMULA",
                     help='lme4 formula, quoted, e.g. "y ~ x + (x | g) + (1 | h)"')
    fit.add_argument("--data", required=True, metavar="FILE",
                     help="the data: a .csv (comma-separated, header row), .tsv or .parquet "
                          "(needs pyarrow) file")
    fit.add_argument("--weights", metavar="COL", help="column of prior (precision) weights")
    fit.add_argument("--offset", metavar="COL", help="column added to the linear predictor")
    _add_output_options(fit, None)
    fit.set_defaults(run=_fit)

    demo = sub.add_parser(
        "demo", help="fit the gem's alien-species example, print it and write its report",
        description=f"Fit {DEMO_FORMULA!r} to the bundled alien_species data, print the "
                    "summary and write the HTML report.")
    _add_output_options(demo, DEMO_REPORT)
    demo.set_defaults(run=_demo, weights=None, offset=None)
    return parser


def _version() -> str:
    from mixed_models._version import __version__

    return __version__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _message(exc: BaseException) -> str:
    from mixed_models.errors import FormulaError

    if isinstance(exc, FormulaError):
        where = "" if exc.position is None else f" (at position {exc.position})"
        formula = "" if exc.formula is None else f" {exc.formula!r}"
        return f"bad formula{formula}: {exc.reason}{where}"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or type(exc).__name__}: {exc.filename!r}"
    # several-line messages are joined: one error, one line
    return " ".join(line.strip() for line in (str(exc) or type(exc).__name__).splitlines())


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``mixed-models``; returns the exit status."""
    from mixed_models.display.escape import printable
    from mixed_models.errors import MixedModelsError

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CliError, MixedModelsError, OSError) as exc:
        if args.traceback:
            raise
        print(f"mixed-models: error: {printable(_message(exc))}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: still one line, with the way to see more
        if args.traceback:
            raise
        print(f"mixed-models: internal error: {type(exc).__name__}: "
              f"{printable(_first_line(exc))} (run again with --traceback and report it)",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
