"""The mixed-models command: fit from CSV and Parquet, JSON output that reloads to the
Python API's numbers, the demo, --help, and one-line errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mixed_models import LMM, cli, datasets

CASES = {  # crossed and nested grouping factors
    "crossed": ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
    "nested": ("pastes", "strength ~ 1 + (1 | batch/cask)"),
}


def _write(tmp_path: Path, name: str, fmt: str, data=None) -> Path:
    data = datasets.load(name) if data is None else data
    path = tmp_path / f"{name}.{fmt}"
    if fmt == "parquet":
        data.to_parquet(path)
    else:
        data.to_csv(path, index=False)
    return path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _assert_same_numbers(saved: dict, model: LMM) -> None:
    assert saved["fix_ef"] == model.fix_ef
    assert saved["theta"] == model.theta.tolist()
    assert (saved["sigma"], saved["deviance"], saved["aic"]) == \
        (model.sigma, model.deviance, model.aic)
    assert [r["sdcor"] for r in saved["var_corr"]] == model.var_corr()["sdcor"].tolist()
    assert [r["value"] for r in saved["ran_ef"]] == model.ran_ef_table()["value"].tolist()
    assert [r["cond_sd"] for r in saved["ran_ef"]] == model.ran_ef_table()["cond_sd"].tolist()
    assert saved["fix_ef_cov_mat"]["values"] == model.fix_ef_cov_mat.to_numpy().tolist()
    assert saved["n_groups"] == model.n_groups and saved["n_obs"] == model.n_obs


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("case", list(CASES))
def test_fit_prints_the_summary_and_json_reloads_to_the_api(tmp_path, capsys, fmt, case):
    name, formula = CASES[case]
    path = _write(tmp_path, name, fmt)
    out_json = tmp_path / "fit.json"
    code, out, err = _run(capsys, "fit", formula, "--data", str(path), "--json", str(out_json))
    assert code == 0, err
    model = LMM.from_formula(formula, datasets.load(name))
    # standard output carries the results only; status lines go to stderr
    assert out == model.summary().to_text() + "\n"
    assert f"Estimates written to {out_json}" in err
    _assert_same_numbers(json.loads(out_json.read_text()), model)


def test_ml_and_weights_options(tmp_path, capsys):
    data = datasets.load("alien_species")
    data["w"] = 1.0 + (np.arange(len(data)) % 3)
    path = _write(tmp_path, "alien_species", "csv", data)
    formula = "Aggression ~ Age + Species + (Age | Location)"
    code, out, _ = _run(capsys, "fit", formula, "--data", str(path), "--ml", "--weights", "w",
                        "--json", str(tmp_path / "fit.json"))
    assert code == 0
    assert "fit by maximum likelihood" in out and "Weights: prior weights given" in out
    saved = json.loads((tmp_path / "fit.json").read_text())
    assert saved["reml"] is False
    _assert_same_numbers(saved, LMM.from_formula(formula, data, reml=False, weights="w"))


def test_demo_prints_the_summary_and_writes_the_report(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "demo")
    assert code == 0, err
    report = (tmp_path / cli.DEMO_REPORT).resolve()
    assert err.rstrip().endswith(f"Report written to {report}")
    assert "The Ruby gem mixed_models' example" in err
    assert report.is_file() and report.stat().st_size > 10_000
    model = LMM.from_formula(cli.DEMO_FORMULA, datasets.load("alien_species"))
    assert out == model.summary().to_text() + "\n"


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["fit", "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for option in ("FORMULA", "--data", "--ml", "--weights", "--offset", "--report", "--json",
                   "--ddf", "--traceback", ".parquet"):
        assert option in text
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert "fit" in text and "demo" in text


BAD = [
    (["y ~ x + (1 | g"], "bad formula 'y ~ x + (1 | g': unmatched '(' (at position 8)"),
    (["y ~ x"], "no random-effects term"),
    (["y ~ zz + (1 | g)"], "column 'zz' is not in the data"),
    (["y ~ x + (1 | g)", "--weights", "nope"], "weights column 'nope'"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[b[1][:20] for b in BAD])
def test_bad_formulas_give_one_line(tmp_path, capsys, args, message):
    path = _write(tmp_path, "crossed_effects_data", "csv")
    code, out, err = _run(capsys, "fit", args[0], "--data", str(path), *args[1:])
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("mixed-models: error: ")
    assert message in err


def _bad_files(tmp: Path) -> list[tuple[str, str]]:
    (tmp / "empty.csv").write_text("")
    (tmp / "broken.csv").write_text('a,b\n1,2\n"x,3\n')
    (tmp / "fake.parquet").write_text("y,x\n1,2\n")
    (tmp / "data.xlsx").write_text("")
    return [(str(tmp / "missing.csv"), "no such data file"),
            (str(tmp / "empty.csv"), "is empty"),
            (str(tmp / "broken.csv"), "cannot read"),
            (str(tmp / "fake.parquet"), "cannot read"),
            (str(tmp / "data.xlsx"), "unknown file type '.xlsx'")]


def test_bad_files_give_one_line(tmp_path, capsys):
    for path, message in _bad_files(tmp_path):
        code, out, err = _run(capsys, "fit", "y ~ x + (1 | g)", "--data", path)
        assert code == 1, path
        assert err.count("\n") == 1 and message in err, (path, err)


def test_unwritable_output_gives_one_line(tmp_path, capsys):
    path = _write(tmp_path, "dyestuff", "csv")
    (tmp_path / "file").write_text("")
    code, _, err = _run(capsys, "fit", "Yield ~ 1 + (1 | Batch)", "--data", str(path),
                        "--json", str(tmp_path / "file" / "out.json"))
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("mixed-models: error: ") and str(tmp_path / "file") in err


def test_unexpected_errors_are_one_line_unless_traceback_is_asked(tmp_path, capsys,
                                                                 monkeypatch):
    path = _write(tmp_path, "dyestuff", "csv")

    def broken(*args, **kwargs):
        raise RuntimeError("something broke\nsecond line")

    monkeypatch.setattr(cli, "_fit_model", broken)
    code, _, err = _run(capsys, "fit", "Yield ~ 1 + (1 | Batch)", "--data", str(path))
    assert code == 3
    assert err == ("mixed-models: internal error: RuntimeError: something broke (run again "
                   "with --traceback and report it)\n")
    with pytest.raises(RuntimeError):
        cli.main(["fit", "Yield ~ 1 + (1 | Batch)", "--data", str(path), "--traceback"])


def _command() -> list[str]:
    script = Path(sys.executable).parent / "mixed-models"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mixed_models.cli"]


def test_installed_command_has_no_traceback(tmp_path):
    path = _write(tmp_path, "dyestuff", "csv")
    result = subprocess.run(_command() + ["fit", "Yield ~ (1 | Batch", "--data", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stdout == ""
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def _blocked(module: str, argv: list[str]) -> subprocess.CompletedProcess:
    code = textwrap.dedent(f"""
        import sys
        sys.modules[{module!r}] = None  # as if it were not installed
        from mixed_models.cli import main
        sys.exit(main({argv!r}))
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_report_without_matplotlib_fails_before_fitting(tmp_path):
    path = _write(tmp_path, "dyestuff", "csv")
    result = _blocked("matplotlib", ["fit", "Yield ~ 1 + (1 | Batch)", "--data", str(path),
                                     "--report", str(tmp_path / "r.html")])
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "pip install 'mixed_models[plot]'" in result.stderr


def test_demo_without_matplotlib_prints_the_summary_and_says_how_to_get_the_report(
        tmp_path):
    # a plain `pip install mixed_models` (no plot extra) must still run the demo
    result = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['matplotlib'] = None; "
         "from mixed_models.cli import main; sys.exit(main(['demo']))"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(cli.__file__).parents[1])})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Linear mixed model fit by REML")
    assert "No report: it needs matplotlib" in result.stderr
    assert "pip install 'mixed_models[plot]'" in result.stderr
    assert not (tmp_path / "build").exists()


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path):
    path = _write(tmp_path, "dyestuff", "parquet")
    result = _blocked("pyarrow", ["fit", "Yield ~ 1 + (1 | Batch)", "--data", str(path)])
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "pip install 'mixed_models[parquet]'" in result.stderr


# --- where outputs go --------------------------------------------------------------------

def _links(tmp: Path, data: Path) -> dict[str, Path]:
    """Other names of the data file: relative, dotted, a symbolic link, a hard link."""
    (tmp / "sub").mkdir()
    (tmp / "symlink.json").symlink_to(data)
    os.link(data, tmp / "hardlink.json")
    return {"same path": data, "dotted": tmp / "sub" / ".." / data.name,
            "symbolic link": tmp / "symlink.json", "hard link": tmp / "hardlink.json"}


@pytest.mark.parametrize("option", ["--json", "--report"])
@pytest.mark.parametrize("alias", ["same path", "dotted", "symbolic link", "hard link"])
def test_outputs_never_overwrite_the_data(tmp_path, capsys, option, alias):
    data = _write(tmp_path, "dyestuff", "csv")
    before = data.read_bytes()
    target = _links(tmp_path, data)[alias]
    code, out, err = _run(capsys, "fit", "Yield ~ 1 + (1 | Batch)", "--data", str(data),
                          option, str(target))
    assert code == 1 and out == ""  # refused before the fit
    assert err.count("\n") == 1 and "is the input file" in err and str(target) in err
    assert data.read_bytes() == before


@pytest.mark.parametrize("second", ["out.json", "./out.json", "link.json"])
def test_two_outputs_never_share_a_path(tmp_path, capsys, second):
    data = _write(tmp_path, "dyestuff", "csv")
    (tmp_path / "out.json").write_text("{}")
    (tmp_path / "link.json").symlink_to(tmp_path / "out.json")
    code, out, err = _run(capsys, "fit", "Yield ~ 1 + (1 | Batch)", "--data", str(data),
                          "--json", str(tmp_path / "out.json"),
                          "--report", str(tmp_path / second))
    assert code == 1 and out == ""
    assert "are the same file" in err and err.count("\n") == 1
    assert (tmp_path / "out.json").read_text() == "{}"


def test_an_output_link_is_replaced_not_followed(tmp_path, capsys):
    data = _write(tmp_path, "dyestuff", "csv")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "out.json").symlink_to(victim)
    code, _, err = _run(capsys, "fit", "Yield ~ 1 + (1 | Batch)", "--data", str(data),
                        "--json", str(tmp_path / "out.json"))
    assert code == 0, err
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "out.json").is_symlink()
    assert json.loads((tmp_path / "out.json").read_text())["n_obs"] == 30


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, capsys,
                                                                   monkeypatch):
    from mixed_models.display import export

    data = _write(tmp_path, "dyestuff", "csv")
    out_json = tmp_path / "out.json"
    out_json.write_text("old")
    out_json.chmod(0o640)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export.os, "replace", full_disk)
    code, _, err = _run(capsys, "fit", "Yield ~ 1 + (1 | Batch)", "--data", str(data),
                        "--json", str(out_json))
    assert code == 1 and "No space left on device" in err
    assert out_json.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dyestuff.csv", "out.json"]
    monkeypatch.undo()
    assert _run(capsys, "fit", "Yield ~ 1 + (1 | Batch)", "--data", str(data),
                "--json", str(out_json))[0] == 0
    assert json.loads(out_json.read_text())["n_obs"] == 30
    assert out_json.stat().st_mode & 0o777 == 0o640  # the permissions it had


def test_version(capsys):
    from mixed_models import __version__

    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"mixed-models {__version__}\n"


def test_control_characters_in_errors_are_shown_as_escapes(tmp_path, capsys):
    data = _write(tmp_path, "dyestuff", "csv")
    code, _, err = _run(capsys, "fit", "Yield ~ 1 + (1 | Batch)", "--data", str(data),
                        "--weights", "w\x1b[2J\u202e")
    assert code == 1 and err.count("\n") == 1
    assert "\x1b" not in err and "\u202e" not in err and "\\x1b[2J\\u202e" in err
