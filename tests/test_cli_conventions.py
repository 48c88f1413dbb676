"""The command's Unix conventions: ``-`` for standard input and output, compressed CSV,
results on stdout and status lines and warnings on stderr, ``--strict`` and ``--ddf``."""

from __future__ import annotations

import io
import json

import pytest

from mixed_models import LMM, cli, datasets

SLEEP = "Reaction ~ Days + (Days | Subject)"
# a zero variance for the Days grouping: a singular fit, whose warning --strict turns into
# a failing exit status
SINGULAR = "Reaction ~ Days + (Days | Subject) + (1 | Days)"


@pytest.fixture(scope="module")
def sleep_model() -> LMM:
    return LMM.from_formula(SLEEP, datasets.load("sleepstudy"))


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _save(data, path) -> None:
    sep = "\t" if ".tsv" in path.name else ","
    data.to_csv(path, index=False, sep=sep)  # pandas compresses by the suffix


@pytest.mark.parametrize("name", ["s.csv.gz", "s.CSV.GZ", "s.tsv.bz2", "s.csv.xz", "s.tsv"])
def test_compressed_and_tab_separated_files_read_as_the_plain_csv(tmp_path, capsys, name,
                                                                  sleep_model):
    path = tmp_path / name
    _save(datasets.load("sleepstudy"), path)
    code, out, err = _run(capsys, "fit", SLEEP, "--data", str(path))
    assert code == 0, err
    assert out == sleep_model.summary().to_text() + "\n"


@pytest.mark.parametrize("name", ["s.gz", "s.json.gz", "s.xlsx"])
def test_unknown_types_under_compression_are_refused(tmp_path, capsys, name):
    path = tmp_path / name
    path.write_bytes(b"")
    code, out, err = _run(capsys, "fit", SLEEP, "--data", str(path))
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "unknown file type" in err and ".csv.gz" in err


def test_data_from_standard_input(tmp_path, capsys, monkeypatch, sleep_model):
    monkeypatch.setattr("sys.stdin", io.StringIO(datasets.load("sleepstudy").to_csv(index=False)))
    out_json = tmp_path / "fit.json"
    code, out, err = _run(capsys, "fit", SLEEP, "--data", "-", "--json", str(out_json))
    assert code == 0, err
    assert out == sleep_model.summary().to_text() + "\n"
    assert json.loads(out_json.read_text())["n_obs"] == 180


def test_empty_standard_input_is_one_line(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out, err = _run(capsys, "fit", SLEEP, "--data", "-")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "standard input is empty" in err


def test_json_to_standard_output_is_the_json_only(tmp_path, capsys, monkeypatch,
                                                  sleep_model):
    # standard input and standard output together: "-" is not "the same file" here
    monkeypatch.setattr("sys.stdin", io.StringIO(datasets.load("sleepstudy").to_csv(index=False)))
    code, out, err = _run(capsys, "fit", SLEEP, "--data", "-", "--json", "-")
    assert code == 0, err
    saved = json.loads(out)
    assert saved["fix_ef"] == pytest.approx(sleep_model.fix_ef, rel=1e-6)
    assert err == ""


def test_report_to_standard_output(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "d.csv"
    datasets.load("dyestuff").to_csv(path, index=False)
    code, out, err = _run(capsys, "fit", "Yield ~ 1 + (1 | Batch)", "--data", str(path),
                          "--report", "-")
    assert code == 0, err
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    assert list(tmp_path.iterdir()) == [path]


def test_two_outputs_on_standard_output_are_refused(tmp_path, capsys):
    code, out, err = _run(capsys, "fit", SLEEP, "--data", str(tmp_path / "x.csv"),
                          "--json", "-", "--report", "-")
    assert code == 1 and out == "" and "both write to standard output" in err


@pytest.mark.parametrize("strict, status", [([], 0), (["--strict"], cli.EXIT_STRICT)])
def test_warnings_go_to_stderr_and_strict_fails(tmp_path, capsys, strict, status):
    path = tmp_path / "s.csv"
    datasets.load("sleepstudy").to_csv(path, index=False)
    code, out, err = _run(capsys, "fit", SINGULAR, "--data", str(path), *strict)
    assert code == status
    lines = err.splitlines()
    assert lines[0].startswith("mixed-models: warning: boundary (singular) fit")
    assert len(lines) == 1 + bool(strict)
    if strict:
        assert lines[1] == "mixed-models: error: 1 warning(s) and --strict was given"
    # the summary is still printed (its Messages section repeats the warning)
    assert out.startswith("Linear mixed model fit by REML") and "singular" in out


def test_strict_without_warnings_succeeds(tmp_path, capsys):
    path = tmp_path / "s.csv"
    datasets.load("sleepstudy").to_csv(path, index=False)
    code, _, err = _run(capsys, "fit", SLEEP, "--data", str(path), "--strict")
    assert code == 0 and err == ""


@pytest.mark.parametrize("ddf", ["wald", "satterthwaite", "kenward-roger"])
def test_ddf_is_passed_to_the_summary_and_the_json(tmp_path, capsys, ddf, sleep_model):
    path = tmp_path / "s.csv"
    datasets.load("sleepstudy").to_csv(path, index=False)
    code, out, err = _run(capsys, "fit", SLEEP, "--data", str(path), "--ddf", ddf)
    assert code == 0, err
    assert out == sleep_model.summary(ddf=ddf).to_text() + "\n"
    code, out, err = _run(capsys, "fit", SLEEP, "--data", str(path), "--ddf", ddf,
                          "--json", "-")
    assert code == 0, err
    saved = json.loads(out)["fixed_effects"]
    assert saved["test_method"] == ddf
    table = sleep_model.fix_ef_summary(ddf=ddf)
    for row, (name, expected) in zip(saved["rows"], table.iterrows(), strict=True):
        assert row["name"] == name
        for column, value in expected.items():
            assert row[column] == pytest.approx(value, rel=1e-6), (name, column)
