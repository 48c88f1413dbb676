"""The HTML report: self-contained, with its tables and images, rendered in headless
Chromium (images load, no horizontal scrolling on a phone-sized window).

The Chromium tests skip when no ``chromium`` is installed, unless the environment sets
``MIXED_MODELS_REQUIRE_CHROMIUM=1`` (CI does, after installing it). Their outputs,
screenshots included, are written to ``build/report_test/`` and their paths printed.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from mixed_models.report import render_report, write_report  # noqa: E402

OUT = Path(__file__).parents[1] / "build" / "report_test"
TABLES = ["residuals", "random-effects", "fixed-effects", "fixed-correlation",
          "conditional-modes"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Headless Chromium will not make a window narrower than 500 px, so the report is shown
# in an iframe of the wanted width (its own viewport, so the media queries apply); after
# the frame loads, the script writes what the browser sees into the page, which
# --dump-dom then prints.
FRAME = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="frame" style="border:0;display:block;width:{width}px;height:{height}px"
 srcdoc="{srcdoc}"></iframe>
<script>
document.getElementById("frame").addEventListener("load", function () {{
  var win = this.contentWindow, doc = this.contentDocument;
  var imgs = Array.from(doc.images);
  var box = function (i) {{ return i.getBoundingClientRect(); }};
  var result = {{
    images: imgs.length,
    loaded: imgs.filter(function (i) {{ return i.complete && i.naturalWidth > 0; }}).length,
    natural: imgs.map(function (i) {{ return [i.naturalWidth, i.naturalHeight]; }}),
    shown: imgs.map(function (i) {{ return box(i).width; }}),
    right: Math.max.apply(null, imgs.map(function (i) {{ return box(i).right; }})),
    tables: Array.from(doc.querySelectorAll("table[data-table]")).map(function (t) {{
      return [t.getAttribute("data-table"), t.querySelectorAll("tbody tr").length]; }}),
    viewport: win.innerWidth,
    page: doc.documentElement.scrollWidth
  }};
  var marker = document.createElement("pre");
  marker.id = "probe-result";
  marker.textContent = JSON.stringify(result);
  document.body.appendChild(marker);
}});
</script>
</body></html>
"""


@pytest.fixture(scope="module")
def report(fitted) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = write_report(fitted("alien_reml"), OUT / "alien_species_report.html",
                        title="Alien species")
    print(f"\nreport: {path}")
    return path


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    return struct.unpack(">II", data[16:24])


def test_report_is_self_contained(report):
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert "<script" not in text and "<link" not in text
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", text)
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" width="(\d+)" height="(\d+)"',
                        text)
    assert len(images) == 4 + 2  # four residual plots, two caterpillars (intercept, Age)
    for data, width, height in images:
        assert _png_size(base64.b64decode(data)) == (int(width), int(height))
    for key in TABLES:
        assert f'data-table="{key}"' in text
    assert "@media print" in text and "@media (max-width: 40rem)" in text


def test_report_holds_the_summary(fitted):
    model = fitted("alien_reml")
    text = render_report(model)
    summary_html = model.summary().to_html().split("</style>", 1)[1].strip()
    assert summary_html in text
    assert text.count("<figure>") == 6


def test_long_tables_of_modes_are_cut(fitted, tmp_path):
    text = render_report(fitted("penicillin_reml"))  # 30 levels: not cut
    assert "First 200 of" not in text
    from mixed_models import report as report_module

    original = report_module.MAX_TABLE_ROWS
    report_module.MAX_TABLE_ROWS = 10
    try:
        text = render_report(fitted("penicillin_reml"))
    finally:
        report_module.MAX_TABLE_ROWS = original
    assert "First 10 of 30 rows" in text


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found is None:
        if os.environ.get("MIXED_MODELS_REQUIRE_CHROMIUM") == "1":
            pytest.fail("chromium is required (MIXED_MODELS_REQUIRE_CHROMIUM=1) but not found")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return found


def _browser(tmp_path: Path, url: str, size: tuple[int, int], *action: str) -> str:
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--hide-scrollbars",
               f"--user-data-dir={tmp_path / 'chromium-profile'}",
               f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=10000",
               *action, url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _framed(report: Path, folder: Path, width: int, height: int) -> Path:
    page = folder / f"framed_{width}.html"
    srcdoc = html.escape(report.read_text(encoding="utf-8"), quote=True)
    page.write_text(FRAME.format(width=width, height=height, srcdoc=srcdoc), encoding="utf-8")
    return page


def _probe(report: Path, tmp_path: Path, width: int) -> dict:
    page = _framed(report, tmp_path, width, 900)
    dom = _browser(tmp_path, page.as_uri(), (max(width, 500) + 20, 900), "--dump-dom")
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


def test_browser_loads_images_and_tables(report, tmp_path):
    seen = _probe(report, tmp_path, 1280)
    assert seen["images"] == 6 and seen["loaded"] == 6
    assert all(w > 0 and h > 0 for w, h in seen["natural"])
    assert [t for t, _ in seen["tables"]] == TABLES
    rows = dict(seen["tables"])
    assert rows["fixed-effects"] == 5 and rows["random-effects"] == 3
    assert rows["conditional-modes"] == 6
    assert all(w > 300 for w in seen["shown"])  # two plots a row on a desktop


def test_phone_layout_does_not_scroll_sideways(report, tmp_path):
    seen = _probe(report, tmp_path, 390)
    assert seen["loaded"] == seen["images"] == 6
    assert seen["viewport"] == 390
    assert seen["page"] <= seen["viewport"]  # wide tables scroll inside their own box
    assert seen["right"] <= seen["viewport"]
    assert all(w >= 300 for w in seen["shown"])  # one plot a row, nearly full width


def test_screenshots(report, tmp_path):
    """A desktop window, and a phone-wide (390 px) frame in a 500 px window."""
    phone = _framed(report, OUT, 390, 4200)
    for name, url, size in (("desktop", report.as_uri(), (1280, 3300)),
                            ("phone", phone.as_uri(), (500, 4200))):
        shot = OUT / f"report_{name}.png"
        shot.unlink(missing_ok=True)
        _browser(tmp_path, url, size, f"--screenshot={shot}")
        assert _png_size(shot.read_bytes()) == size
        print(f"\nscreenshot ({name}): {shot}")


def test_hostile_names_are_text_in_the_report(tmp_path):
    # a level label with a "$...$" pair used to stop write_report in matplotlib's mathtext
    import warnings

    import pandas as pd

    from mixed_models import LMM, datasets
    from mixed_models.display.escape import printable

    name = "$\\frac{$ <script>alert(1)</script> ![p](http://host/pixel) \x1b[2J\n"
    sleep = datasets.load("sleepstudy")
    labels = {s: f"{name}{i}" for i, s in enumerate(sleep["Subject"].unique())}
    data = pd.DataFrame({"Reaction": sleep["Reaction"], "Days": sleep["Days"],
                         "g": sleep["Subject"].map(labels)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LMM.from_formula("Reaction ~ Days + (Days | g)", data)
    page = write_report(model, tmp_path / "report.html", title=name).read_text()
    tags = re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", page)
    assert "script" not in tags and "a" not in tags
    assert tags.count("img") == 4 + 2  # the diagnostic plots and two caterpillar plots
    assert re.findall(r'<img src="([^":]+):', page) == ["data"] * 6
    visible = "".join(c if c.isprintable() or c == "\n" else "?" for c in page)
    assert visible == page  # no control characters
    assert html.escape(printable(name)) in page  # the title, and the levels in the table
