"""Reports in every format: content, privacy, and the JSON's hardware loading back as a machine."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from advisor.hardware.types import Hardware
from advisor.report.build import build_report
from advisor.report.render import format_for_path, render, write_report
from tests.fixtures.plans import minimax_plan, two_gpu_machine


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOME", "/home/alice")
    monkeypatch.setenv("USER", "alice")
    return "/home/alice"


@pytest.fixture
def report(home: str):
    hw = two_gpu_machine(home=home)
    return build_report(hw, minimax_plan(hw, home=home))


def test_json_round_trips_into_hardware(report) -> None:
    data = json.loads(render(report, "json"))
    assert data["schema"] == "rigfit.report/1"
    assert data["app"]["name"] == "Rigfit" and data["generated_at"]
    hw = Hardware.from_dict(data)
    assert [g.name for g in hw.gpus] == ["NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 3090"]
    assert data["plan"]["options"][0]["verdict"] == "experts_on_cpu"
    assert data["chosen_quant"] == "UD-Q4_K_M"


def test_markdown_has_gpus_verdicts_risks_and_command(report) -> None:
    md = render(report, "md").decode()
    for needle in ("RTX 4090", "RTX 3090", "Experts in RAM", "Streams from disk", "Non-commercial licence", "```sh"):
        assert needle in md
    assert "--n-cpu-moe 50" in md
    # every table row has as many cells as its header
    for block in md.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            assert len({line.count(" | ") for line in rows if not line.startswith("|-")}) == 1, block


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        if tag not in ("meta", "br", "img", "link"):  # HTML void elements
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs) -> None:  # <rect .../> in SVG
        self.tags.append(tag)

    def handle_endtag(self, tag) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>, open: {self.stack[-3:]}"
        self.stack.pop()

    def handle_data(self, data) -> None:
        self.text.append(data)


def test_html_parses_is_self_contained_and_has_the_chart(report) -> None:
    html = render(report, "html").decode()
    parser = _Collector()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    assert "svg" in parser.tags and "style" in parser.tags
    assert "<script" not in html and "<link" not in html and "src=" not in html  # nothing fetched
    text = " ".join(parser.text)
    assert "NVIDIA GeForce RTX 4090" in text and "Experts in RAM" in text


def test_identifying_data_is_left_out_unless_asked(home: str) -> None:
    hw = two_gpu_machine(home=home)
    plan = minimax_plan(hw, home=home)
    for fmt in ("json", "md", "html"):
        out = render(build_report(hw, plan), fmt).decode()
        assert "alices-workstation" not in out and "/home/alice" not in out, fmt
        assert "~/models" in out
    kept = render(build_report(hw, plan, include_identifying=True), "md").decode()
    assert "alices-workstation" in kept and "/home/alice/models" in kept


def test_tokens_never_appear_in_any_text_format(home: str) -> None:
    token = "hf_SuperSecretTokenValue123"
    hw = two_gpu_machine(home=home).with_notes(f"login used token {token}", "stray hf_AnotherTokenLooking1234")
    report = build_report(hw, minimax_plan(hw, home=home), secrets=(token,))
    for fmt in ("json", "md", "html"):
        out = render(report, fmt).decode()
        assert token not in out and "hf_AnotherTokenLooking1234" not in out, fmt
        assert "[token removed]" in out


def test_hardware_only_report(home: str) -> None:
    md = render(build_report(two_gpu_machine(home=home)), "md").decode()
    assert "RTX 4090" in md and "Quantizations" not in md


def test_write_is_atomic_and_format_follows_extension(report, tmp_path: Path) -> None:
    assert format_for_path("x.markdown") == "md" and format_for_path("x.HTML") == "html"
    out = write_report(report, tmp_path / "r.html")
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert not list(tmp_path.glob("*.partial"))


def test_the_chosen_option_states_its_longest_context_with_any_placement(home: str) -> None:
    from dataclasses import replace

    from advisor.format import context_tokens

    hw = two_gpu_machine(home=home)
    plan = minimax_plan(hw, home=home)
    chosen = plan.option(plan.recommended)
    longer = replace(chosen, longest_context=196608)
    plan = replace(plan, options=tuple(longer if o is chosen else o for o in plan.options))
    text = render(build_report(hw, plan, quant=plan.recommended), "md").decode()
    assert f"| Longest context, any placement (planned KV type) | {context_tokens(196608)} |" in text
    none = replace(plan, options=tuple(replace(o, longest_context=0) for o in plan.options))
    assert b"none: no placement holds it in memory" in render(build_report(hw, none, quant=plan.recommended), "md")
