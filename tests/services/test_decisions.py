"""The language of a decision's reasons, from Accept-Language."""

from __future__ import annotations

import pytest

from app.services.decisions import language


@pytest.mark.parametrize(("header", "expected"), [
    (None, "en"),
    ("", "en"),
    ("pt-BR", "pt-BR"),
    ("pt", "pt-BR"),
    ("PT-pt", "pt-BR"),
    ("en-US", "en"),
    ("fr-FR", "en"),  # not supported: English, and Content-Language says so
    ("*", "en"),
    ("fr-FR, pt-BR;q=0.8, en;q=0.5", "pt-BR"),
    ("en;q=0.9, pt-BR;q=0.8", "en"),
    ("pt-BR;q=0, en;q=0.1", "en"),
    ("pt-BR;q=abc", "en"),  # an unreadable weight counts as 0
    ("de-DE ; q=0.9 , pt ; q=0.4", "pt-BR"),
])
def test_language_follows_accept_language_and_falls_back_to_english(header, expected):
    assert language(header) == expected
