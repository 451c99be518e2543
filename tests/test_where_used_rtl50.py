"""Where used's heading and Goes with rows with a right-to-left product name: laid out by Qt's text layout, left to
right as the panel's rows are, the name reads in its own direction and the price follows it."""

from __future__ import annotations

from PySide6.QtGui import QFont, QTextLayout

HEBREW = "ספה תלת מושבית"


def _left_of(text: str, word: str) -> float:
    """Where ``word`` is drawn in ``text`` laid out on one line, left to right: the left of its glyphs."""
    layout = QTextLayout(text, QFont())
    layout.beginLayout()
    layout.createLine().setLineWidth(4000)
    layout.endLayout()
    return min(run.boundingRect().left() for run in layout.glyphRuns(text.index(word), len(word)))


def test_a_hebrew_names_price_follows_it(qapp) -> None:
    """"4 995 [name] kr · SE-2": the price's number joined the name's right-to-left run and showed before it."""
    from app.labels import product_title
    from app.widgets.where_used import priced

    row = f"{priced(product_title(HEBREW, 'SE-2', 'sofa'), '4 995 kr')} · SE-2"
    assert _left_of(row, HEBREW.split()[-1]) < _left_of(row, HEBREW.split()[0]) < _left_of(row, "4")
    assert _left_of(row, "4") < _left_of(row, "kr") < _left_of(row, "SE-2")
