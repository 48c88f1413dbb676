"""Formulas are untrusted input: a payload battery, through the API and the CLI.

Each payload would, if any part of it were evaluated, create the sentinel file (by a
pandas method, numpy, a builtin, an import...). Each must be refused with a FormulaError
that points at the construct, and the sentinel must not exist afterwards.
"""

from __future__ import annotations

import pytest

from mixed_models import LMM, cli, datasets
from mixed_models.errors import FormulaError
from mixed_models.formula import parse_formula

SLEEP = datasets.load("sleepstudy")

# (fixed part with {p} for the sentinel's path, the text the error must point at)
PAYLOADS = [
    ("I(Days.to_csv('{p}'))", "Days.to_csv"),
    ("Days.to_csv('{p}')", "Days.to_csv"),
    ("log(Days.to_csv('{p}'))", "Days.to_csv"),
    ("I(Days .to_csv('{p}'))", ".to_csv"),
    ("I((Days).to_csv('{p}'))", ".to_csv"),
    ("I(`Days`.to_csv('{p}'))", ".to_csv"),
    ("{{Days.to_csv('{p}')}}", "{{"),
    ("I(Days.to_csv(path_or_buf='{p}'))", "Days.to_csv"),
    ("I(Days.to_csv(*['{p}']))", "["),
    ("scale(Days.to_csv('{p}'))", "Days.to_csv"),
    ("C(Days, Days.to_csv('{p}'))", "Days.to_csv"),
    ("poly(Days, Days.to_csv('{p}'))", "Days.to_csv"),
    ("I(getattr(Days, 'to_csv')('{p}'))", "getattr"),
    ("I([Days.to_csv('{p}')])", "["),
    ("I((lambda: Days.to_csv('{p}'))())", ":"),
    ("I(Days.to_csv('{p}') if 1 else 0)", "if"),
    ("np.savetxt('{p}', Days)", "np.savetxt"),
    ("I(np.savetxt('{p}', Days))", "np.savetxt"),
    ("__import__('os').system('touch {p}')", "__import__"),
    ("I(__import__('os').system('touch {p}'))", "__import__"),
    ("I(open('{p}', 'w'))", "open"),
    ("I(exec('1'))", "exec"),
    ("I(eval('1'))", "eval"),
    ("I(Days.__class__.__init__.__globals__['__builtins__']['open']('{p}', 'w'))",
     "Days.__class__"),
    ("I(\uff4f\uff50\uff45\uff4e('{p}', 'w'))", "\uff4f"),
    ("Days # + I(open('{p}', 'w'))", "#"),
    ("I(Days) + I(open('{p}', 'w'))", "open"),
    ("I(Days) \\\n + I(open('{p}', 'w'))", "\\"),
    ("I(f'{{open(\"{p}\", \"w\")}}')", "'{{open"),
    ("I((o := open('{p}', 'w')))", ":"),
    ("hashed(open('{p}', 'w'))", "hashed"),
    ("lag(open('{p}', 'w'))", "lag"),
    ("C(Days, contr.treatment(open('{p}', 'w')))", "contr.treatment"),
    ("I(Days)(open('{p}', 'w'))", "(open"),
    ("I(Days, open('{p}', 'w'))", "I(Days"),
    ("scale(Days, center=open('{p}', 'w'))", "open"),
    ("scale(Days, **{{'center': open('{p}', 'w')}})", "{{"),
    ("Q(\"open('{p}', 'w')\")", "\"open"),
    ("I(Days).to_csv('{p}')", ".to_csv"),
    ("I(Days)._mgr", "._mgr"),
    ("I(Days) + Days.values", None),  # a '.' is part of an R name: no such column
]


def _cases(tmp_path, fixed: str, marker: str | None):
    sentinel = tmp_path / "sentinel.txt"
    formula = "Reaction ~ " + fixed.format(p=sentinel) + " + (1 | Subject)"
    position = None if marker is None else formula.index(marker.format(p=sentinel))
    return sentinel, formula, position


@pytest.mark.parametrize(("fixed", "marker"), PAYLOADS, ids=[p[0][:40] for p in PAYLOADS])
def test_a_payload_is_refused_where_it_starts_and_nothing_runs(tmp_path, fixed, marker):
    sentinel, formula, position = _cases(tmp_path, fixed, marker)
    if marker is None:
        with pytest.raises(Exception, match="Days.values"):
            LMM.from_formula(formula, SLEEP)
    else:
        with pytest.raises(FormulaError) as info:
            LMM.from_formula(formula, SLEEP)
        assert info.value.position == position
    assert not sentinel.exists()


PLACES = [  # the same payload in every piece formulaic would see
    "I(Days.to_csv('{p}')) ~ Days + (1 | Subject)",
    "Reaction ~ Days + (I(Days.to_csv('{p}')) | Subject)",
    "Reaction ~ Days + offset(Days.to_csv('{p}')) + (1 | Subject)",
    "Reaction ~ Days + diag(0 + I(Days.to_csv('{p}')) | Subject)",
]


@pytest.mark.parametrize("template", PLACES)
def test_every_piece_is_checked(tmp_path, template):
    sentinel = tmp_path / "sentinel.txt"
    formula = template.format(p=sentinel)
    with pytest.raises(FormulaError) as info:
        parse_formula(formula)
    assert info.value.position == formula.index("Days.to_csv")
    with pytest.raises(FormulaError):
        LMM.from_formula(formula, SLEEP)
    assert not sentinel.exists()


def test_the_command_line_refuses_a_payload(tmp_path, capsys):
    data = tmp_path / "sleep.csv"
    SLEEP.to_csv(data, index=False)
    sentinel = tmp_path / "sentinel.txt"
    formula = f"Reaction ~ I(Days.to_csv('{sentinel}')) + (1 | Subject)"
    code = cli.main(["fit", formula, "--data", str(data)])
    err = capsys.readouterr().err
    assert code == 1 and "not a function a formula may call" in err
    assert not sentinel.exists()


def test_formulaic_sees_no_variable_of_the_library():
    # formulaic captures its caller's variables unless given a context; 'data' and
    # 'np' were variables where the library called it
    for name in ("data", "text", "np", "pd", "formula"):
        frame = SLEEP.assign(**{"y2": SLEEP["Reaction"]})
        with pytest.raises(Exception) as info:
            LMM.from_formula(f"Reaction ~ {name} + (1 | Subject)", frame)
        assert f"'{name}' is not in the data" in str(info.value)


def test_a_piece_is_parsed_once_and_renders_without_changing():
    from mixed_models.formula.safe import check_piece
    formula = "y ~ log(x) + f"
    piece = check_piece("log(x) + f", formula, 4)
    assert check_piece("log(x) + f", formula, 4) is piece
    assert piece.render(lambda name: f"_{name}") == "log(_x) + _f"
    assert piece.render(str) == "log(x) + f"
