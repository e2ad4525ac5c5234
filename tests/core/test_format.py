"""Words and units: a context length reads the same way everywhere and is never shown longer than it is."""

from __future__ import annotations

import re

import pytest

from advisor.format import context_tokens, context_tokens_exact


@pytest.mark.parametrize(
    ("tokens", "shown"),
    [
        (None, "—"),
        (0, "—"),
        (512, "512"),
        (1023, "1023"),
        (1024, "1K"),
        (34048, "33K"),  # 33.25K: rounded down, not up to 34K
        (34816, "34K"),
        (35839, "34K"),
        (196608, "192K"),
        (200000, "195K"),
    ],
)
def test_context_is_whole_k_rounded_down(tokens: int | None, shown: str) -> None:
    assert context_tokens(tokens) == shown


def test_context_never_reads_longer_than_it_is() -> None:
    for tokens in range(1, 300_000, 997):
        text = context_tokens(tokens)
        assert re.fullmatch(r"\d+K|\d{1,4}", text), text
        value = int(text[:-1]) * 1024 if text.endswith("K") else int(text)
        assert tokens - 1024 < value <= tokens


def test_exact_context_for_tooltips() -> None:
    assert context_tokens_exact(34048) == "34,048 tokens"
    assert context_tokens_exact(None) == "—"
