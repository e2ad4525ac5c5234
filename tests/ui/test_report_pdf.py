"""PDF reports through Qt's PDF writer: valid PDF, the right text, no token, page size by locale."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QLocale
from PySide6.QtGui import QPageSize

from advisor.report.build import build_report
from advisor.report.render import render
from tests.fixtures.plans import minimax_plan, two_gpu_machine
from ui.pdf import page_size_for_locale


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOME", "/home/alice")
    return "/home/alice"


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def test_pdf_is_valid_and_has_gpu_names_and_verdicts(home: str, qapp) -> None:
    hw = two_gpu_machine(home=home)
    pdf = render(build_report(hw, minimax_plan(hw, home=home)), "pdf")
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    for needle in ("RTX 4090", "RTX 3090", "Experts in RAM", "Streams from disk", "--n-cpu-moe 50"):
        assert needle in text


def test_token_is_not_in_the_pdf(home: str, qapp) -> None:
    token = "hf_SuperSecretTokenValue123"
    hw = two_gpu_machine(home=home).with_notes(f"login used token {token}")
    pdf = render(build_report(hw, minimax_plan(hw, home=home), secrets=(token,)), "pdf")
    assert token.encode() not in pdf and token not in _text(pdf)


@pytest.mark.parametrize(
    ("locale", "page"),
    [("en_US", QPageSize.PageSizeId.Letter), ("en_GB", QPageSize.PageSizeId.A4), ("de_DE", QPageSize.PageSizeId.A4)],
)
def test_page_size_follows_locale(locale: str, page, qapp) -> None:
    assert page_size_for_locale(QLocale(locale)).id() == page
