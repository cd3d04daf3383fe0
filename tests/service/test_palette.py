"""The palette of style.css against WCAG 2.2 AA: 4.5:1 for text on the backgrounds it is shown on,
3:1 for what identifies a control (its border) and for the focus ring (non-text contrast, 1.4.11).
The browser's view of the same (computed styles) is in test_accessibility.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import supportcue.service

STYLE = Path(supportcue.service.__file__).parent / "static" / "style.css"
HEADER = "#17202e"
"""The background of the top bar (set on `.top`)."""


def luminance(colour: str) -> float:
    """The relative luminance of a #rrggbb (or #rgb) colour, as WCAG defines it."""
    hex_ = colour.lstrip("#")
    if len(hex_) == 3:
        hex_ = "".join(c * 2 for c in hex_)
    channels = [int(hex_[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two colours (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def palette() -> dict[str, str]:
    """The custom properties of style.css's :root."""
    root = re.search(r":root\s*{([^}]*)}", STYLE.read_text())
    assert root is not None
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", root.group(1)))


def test_the_contrast_ratio_is_wcags() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the lightest AA grey
    assert contrast("#ffffff", "#ffffff") == 1


@pytest.mark.parametrize("text", ["ink", "muted", "accent", "good", "bad", "warn"])
@pytest.mark.parametrize("background", ["card", "bg"])
def test_text_colours_read_on_the_cards_and_the_page(text: str, background: str) -> None:
    p = palette()
    assert contrast(p[text], p[background]) >= 4.5


def test_the_primary_buttons_text_reads_on_the_accent() -> None:
    p = palette()
    assert contrast(p["accent-ink"], p["accent"]) >= 4.5


CONTROL_RULE = re.compile(r"(?:^|})\s*([^{}]*\b(?:button|input|textarea|select)\b[^{}]*){([^}]*)}")
"""A rule of style.css whose selector names a form control: (selector, declarations)."""


@pytest.mark.parametrize("background", ["card", "bg"])
def test_the_borders_of_controls_show_where_they_are(background: str) -> None:
    p = palette()
    assert contrast(p["control-line"], p[background]) >= 3
    borders = {
        selector.strip(): body.split("border:")[1].split(";")[0]
        for selector, body in CONTROL_RULE.findall(STYLE.read_text())
        if "border:" in body
    }
    assert ".composer textarea" in borders and "button" in borders
    assert {s: b for s, b in borders.items() if "var(--control-line)" not in b} == {}


def test_the_focus_ring_shows_on_every_background() -> None:
    """The yellow outer ring shows on the dark header; on the light card and page, the dark inner
    ring (a box-shadow) does."""
    p = palette()
    css = STYLE.read_text()
    focus = re.search(r":focus-visible\s*{([^}]*)}", css)
    assert focus is not None
    assert "outline: 3px solid var(--focus)" in focus.group(1)
    assert "box-shadow: 0 0 0 2px var(--ink)" in focus.group(1)
    assert contrast(p["focus"], HEADER) >= 3
    assert contrast(p["ink"], p["card"]) >= 3 and contrast(p["ink"], p["bg"]) >= 3
