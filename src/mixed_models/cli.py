"""The ``mixed-models`` command: fit a model from a data file, or run the demo.

Errors (a missing file, a bad formula, a column that is not in the data...) are
printed as one line on stderr with exit status 1, never as a traceback (``--traceback``
shows it, for bug reports). Standard output carries the results only (the summary, or
the JSON or HTML written to ``-``); status lines and the fit's warnings go to stderr,
one line each (they are also the "Messages" section of the summary). ``--strict`` makes
a run with warnings exit with status 4 once its outputs are written.

``--data -`` reads CSV from standard input; ``--json -`` or ``--report -`` writes to
standard output instead of the summary.

Outputs (``--json``, ``--report``) are written atomically (a temporary file, then a
rename), never onto the data file (compared after following links, and as the same file
on disk when it exists) and never two onto one path: those are refused before the fit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from mixed_models.cli_data import (
    STDIO,
    STREAM_BYTES,
    CliError,
    first_line,
    read_data,
    stream_source,
    streams,
)

DEMO_FORMULA = "Aggression ~ Age + Species + (Age | Location)"
DEMO_REPORT = Path("build") / "alien_species_report.html"
DDF_CHOICES = ("wald", "satterthwaite", "kenward-roger")
# "gaussian" is the linear mixed model; the others are GLMM.from_formula's family names
FAMILY_CHOICES = ("gaussian", "binomial", "poisson", "gamma", "inverse_gaussian",
                  "negative_binomial")
EXIT_STRICT = 4


# --- commands --------------------------------------------------------------------------

def is_glmm(args: argparse.Namespace) -> bool:
    """Whether the command fits a GLMM: --family given and not gaussian."""
    return getattr(args, "family", None) not in (None, "gaussian")


def check_family_options(args: argparse.Namespace) -> None:
    """Refuse, before any work, options that do not go with the model asked for."""
    if not is_glmm(args):
        if args.link not in (None, "identity"):
            raise CliError(f"--link {args.link} needs --family (binomial, poisson...); a "
                           "linear mixed model (no --family, or gaussian) has the identity "
                           "link")
        if args.n_agq is not None:
            raise CliError("--n-agq is for generalized models; give --family (binomial, "
                           "poisson...) or drop --n-agq")
        return
    if args.ddf not in (None, "wald"):
        raise CliError(f"--ddf {args.ddf} is for linear mixed models; a GLMM's fixed "
                       "effects have Wald z tests (drop --ddf, or give --ddf wald)")
    if streams(args):
        raise CliError(f"--family {args.family} cannot be fitted from streamed rows "
                       "(--stream, --scheduler, or Parquet data over "
                       f"{STREAM_BYTES // 2**30} GB): PIRLS needs the rows in memory; "
                       "drop --stream or fit a linear mixed model")


def _fit_model(formula: str, data: Any, args: argparse.Namespace) -> Any:
    from mixed_models.fitted import fit_formula
    from mixed_models.fitted.glmm_fit import fit_glmm_formula

    with warnings.catch_warnings():
        # the fit's warnings are kept on the model (model.warnings) and reported once,
        # by _report_warnings, rather than as Python warnings
        warnings.simplefilter("ignore")
        if is_glmm(args):
            return fit_glmm_formula(formula, data, family=args.family, link=args.link,
                                    n_agq=1 if args.n_agq is None else args.n_agq,
                                    weights=args.weights, offset=args.offset)
        return fit_formula(formula, data, reml=not args.ml, weights=args.weights,
                           offset=args.offset)


def status(line: str) -> None:
    """Print a status line (not a result) on stderr."""
    print(line, file=sys.stderr)


def _outputs(model: Any, args: argparse.Namespace) -> list[str]:
    """Write the summary and the asked-for outputs; returns the warnings raised while
    computing them (a failed Satterthwaite step, say)."""
    from mixed_models.display.escape import printable

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if STDIO not in (args.json, args.report):
            print(_summary(model, args).to_text())
        if args.json == STDIO:
            sys.stdout.write(_json_text(model, args))
        elif args.json:
            path = _write_json(model, args)
            status(f"Estimates written to {printable(path)}")
        if args.report:
            _write_report(model, args)
    return [str(item.message) for item in caught]


def _summary(model: Any, args: argparse.Namespace) -> Any:
    if model.is_generalized:
        from mixed_models.display.glmm_summary import summarize_glmm

        return summarize_glmm(model)
    from mixed_models.display import summarize

    return summarize(model, ddf=args.ddf)


def _json_text(model: Any, args: argparse.Namespace) -> str:
    if model.is_generalized:
        from mixed_models.display.glmm_export import glmm_json

        return glmm_json(model)
    from mixed_models.display.export import model_to_dict

    return json.dumps(model_to_dict(model, args.ddf), indent=1, allow_nan=False) + "\n"


def _write_json(model: Any, args: argparse.Namespace) -> Path:
    if model.is_generalized:
        from mixed_models.display.glmm_export import write_glmm_json

        return write_glmm_json(model, args.json)
    from mixed_models.display.export import write_json

    return write_json(model, args.json, ddf=args.ddf)


def _write_report(model: Any, args: argparse.Namespace) -> None:
    from mixed_models.display.escape import printable
    from mixed_models.report import render_report, write_report

    if args.report == STDIO:
        sys.stdout.write(render_report(model, ddf=args.ddf))
        return
    path = write_report(model, args.report, ddf=args.ddf)
    status(f"Report written to {printable(path.resolve())}")


def _report_warnings(model: Any, extra: list[str], args: argparse.Namespace) -> int:
    """Print each warning of the fit and of its outputs on stderr; the exit status:
    0, or EXIT_STRICT when there are warnings and ``--strict`` was given."""
    from mixed_models.display.escape import printable

    found = list(dict.fromkeys([*model.warnings, *extra]))
    for text in found:
        one_line = " ".join(line.strip() for line in str(text).splitlines())
        status(f"mixed-models: warning: {printable(one_line)}")
    if found and args.strict:
        status(f"mixed-models: error: {len(found)} warning(s) and --strict was given")
        return EXIT_STRICT
    return 0


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
    # "-" is standard input for the data and standard output for an output
    data = getattr(args, "data", None)
    inputs = [("--data", data)] if data and data != STDIO else []
    outputs = [(option, path) for option, path in (("--json", args.json),
                                                   ("--report", args.report))
               if path and path != STDIO]
    for option, path in outputs:
        for input_option, input_path in inputs:
            if same_file(path, input_path):
                raise CliError(f"{option} {path!r} is the input file ({input_option} "
                               f"{input_path!r}); choose another output path")
    if args.json == STDIO and args.report == STDIO:
        raise CliError("--json - and --report - both write to standard output; give one "
                       "of them a file path")
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
    check_family_options(args)
    if streams(args):
        if args.report:
            raise CliError("--report needs the rows in memory (its plots show every "
                           "residual); a streamed fit has none: drop --report or --stream")
        with stream_source(args) as data:
            model = _fit_model(args.formula, data, args)
            return _report_warnings(model, _outputs(model, args), args)
    _require_plotting(args)
    data = read_data(args.data)
    model = _fit_model(args.formula, data, args)
    return _report_warnings(model, _outputs(model, args), args)


def _demo(args: argparse.Namespace) -> int:
    from mixed_models import datasets

    if args.report is None:
        _default_demo_report(args)
    check_output_paths(args)
    _require_plotting(args)
    data = datasets.load("alien_species")
    status("The Ruby gem mixed_models' example: the aggression of alien species by age and")
    status("species, with a random intercept and age slope for each location (bundled data")
    status(f"set 'alien_species', {len(data)} rows).")
    model = _fit_model(DEMO_FORMULA, data, args)
    return _report_warnings(model, _outputs(model, args), args)


def _default_demo_report(args: argparse.Namespace) -> None:
    """The demo writes its report when matplotlib is installed; without it (a plain
    ``pip install mixed_models``) it still runs, and says how to get the report."""
    from importlib.util import find_spec

    try:
        installed = find_spec("matplotlib") is not None
    except (ImportError, ValueError):  # a broken or blocked installation
        installed = False
    if installed:
        args.report = str(DEMO_REPORT)
    else:
        status("No report: it needs matplotlib, which is not installed; install it with: "
               "pip install 'mixed_models[plot]'")


# --- parser ----------------------------------------------------------------------------

def _add_output_options(parser: argparse.ArgumentParser, report_default: Path | None) -> None:
    parser.add_argument("--traceback", action="store_true",
                        help="on an error, show the Python traceback (for bug reports)")
    parser.add_argument("--ml", action="store_true",
                        help="fit by maximum likelihood instead of REML (the default); a GLMM "
                             "(--family) is always fitted by maximum likelihood")
    parser.add_argument("--ddf", choices=DDF_CHOICES, default=None,
                        help="tests of the fixed effects in the summary: Wald z tests, or t "
                             "tests with Satterthwaite's or Kenward-Roger's degrees of "
                             "freedom (default: Satterthwaite, as lmerTest)")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 4 when the fit or its outputs give warnings "
                             "(a singular fit, a convergence problem...); the warnings are "
                             "printed on stderr in every case")
    parser.add_argument("--json", metavar="OUT.json",
                        help="also write every estimate (fixed effects with their tests and "
                             "covariance, variance components, theta, conditional modes, "
                             "fitted values, residuals, messages) to this JSON file; - "
                             "writes it to standard output instead of the summary")
    report_help = ("write a self-contained HTML report (summary tables and diagnostic "
                   "plots; needs matplotlib) to this file; - writes it to standard output "
                   "instead of the summary")
    if report_default is None:
        parser.add_argument("--report", metavar="OUT.html", help=report_help)
    else:
        # the default is applied by the command, which skips it when matplotlib is missing
        parser.add_argument("--report", metavar="OUT.html", default=None,
                            help=report_help + f" (default: {report_default}, or no report "
                                               "when matplotlib is not installed)")


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
                          "(needs pyarrow) file; a .csv or .tsv may be compressed "
                          "(.csv.gz, .csv.bz2, .csv.xz); - reads CSV from standard input")
    fit.add_argument("--stream", action="store_true",
                     help="fit a Parquet file or directory chunk by chunk without loading it "
                          "(the default for Parquet data over "
                          f"{STREAM_BYTES // 2**30} GB); the report is not available")
    fit.add_argument("--scheduler", metavar="ADDRESS",
                     help="fit a Parquet file or directory on the Dask cluster at this "
                          "address (needs mixed_models[scale]); implies --stream")
    fit.add_argument("--weights", metavar="COL", help="column of prior (precision) weights")
    fit.add_argument("--offset", metavar="COL", help="column added to the linear predictor")
    fit.add_argument("--family", choices=FAMILY_CHOICES, default=None,
                     help="fit a generalized linear mixed model (lme4's glmer; "
                          "negative_binomial: glmer.nb) of this family; gaussian (the "
                          "default) is the linear mixed model. A binomial response is 0/1, "
                          "a two-level factor, cbind(successes, failures) in the formula, "
                          "or a proportion with the trials in --weights")
    fit.add_argument("--link", metavar="NAME", default=None,
                     help="the link of --family (default: its canonical link; binomial: "
                          "logit, probit, cloglog, cauchit, log; poisson: log, sqrt, "
                          "identity; gamma: inverse, log, identity...)")
    fit.add_argument("--n-agq", type=int, default=None, metavar="N",
                     help="with --family: 1 (Laplace, the default), 0 (fast, approximate) or "
                          "2-25 adaptive Gauss-Hermite nodes (one scalar random-effect term)")
    _add_output_options(fit, None)
    fit.set_defaults(run=_fit)

    demo = sub.add_parser(
        "demo", help="fit the gem's alien-species example, print it and write its report",
        description=f"Fit {DEMO_FORMULA!r} to the bundled alien_species data, print the "
                    "summary and write the HTML report.")
    _add_output_options(demo, DEMO_REPORT)
    demo.set_defaults(run=_demo, weights=None, offset=None, family=None, link=None,
                      n_agq=None)
    return parser


def _version() -> str:
    from mixed_models._version import __version__

    return __version__


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
              f"{printable(first_line(exc))} (run again with --traceback and report it)",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
