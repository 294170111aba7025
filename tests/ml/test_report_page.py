"""The report page escapes what a company wrote and fetches nothing."""

from __future__ import annotations

import numpy as np

from app.ml.curves import curves
from app.ml.report import ReportInput, page

EVIL = '<script>alert("x")</script>'


def test_every_interpolated_string_is_escaped_and_the_page_is_deterministic():
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.3).astype(float)
    p = np.clip(0.4 * y + rng.random(300) * 0.6, 0, 1)
    report = ReportInput(title=f"Model {EVIL}", subtitle=EVIL, curves=curves(y, p, 0.5),
                         importance={EVIL: 0.4, "amount": 0.2}, importance_label=EVIL, facts=((EVIL, EVIL),))
    html = page(report)
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert html.count("<svg") == 6
    assert page(report) == html  # fixed SVG ids and no dates: the same slice, the same bytes
