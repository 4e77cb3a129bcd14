"""The dialogs' and the stimulator strip's colours read from across the room (Qt-free)."""

from __future__ import annotations

import pytest

from presentation import theme


@pytest.mark.parametrize("name", sorted(theme.DIALOG_TEXT_PAIRS))
def test_dialog_text_has_at_least_7_to_1_contrast(name):
    fg, bg = theme.DIALOG_TEXT_PAIRS[name]
    assert theme.contrast_ratio(fg, bg) >= 7.0, name


@pytest.mark.parametrize("state", sorted(theme.STIM_COLOURS))
def test_stimulator_strip_text_has_at_least_7_to_1_contrast(state):
    bg, fg = theme.STIM_COLOURS[state]
    assert theme.contrast_ratio(fg, bg) >= 7.0, state


def test_the_palette_is_dark_with_light_text():
    p = theme.DIALOG_PALETTE
    for text, ground in (
        ("WindowText", "Window"),
        ("Text", "Base"),
        ("ButtonText", "Button"),
        ("HighlightedText", "Highlight"),
        ("ToolTipText", "ToolTipBase"),
        ("PlaceholderText", "Base"),
    ):
        assert theme.contrast_ratio(p[text], p[ground]) >= 7.0, text
        if ground != "Highlight":  # the selection is a mid blue, the rest near black
            assert theme.contrast_ratio(p[ground], "#000000") < 2.0, ground
    # An inactive control is dimmer on purpose, still legible (WCAG AA for large text).
    assert theme.contrast_ratio(theme.DISABLED_TEXT, theme.DIALOG_BACKGROUND) >= 4.5


def test_contrast_ratio_matches_wcag():
    assert theme.contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert theme.contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert theme.contrast_ratio("#000000", "#000000") == pytest.approx(1.0)


def test_the_style_sheet_sizes_every_dialog_for_the_room():
    css = theme.dialog_style_sheet()
    assert f"font-size:{theme.DIALOG_PT}pt" in css
    assert theme.DIALOG_PT >= theme.BUTTON_PT
