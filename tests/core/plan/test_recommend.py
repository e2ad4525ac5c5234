"""The recommendation: best quality at a usable speed, with its reason in one sentence."""

from __future__ import annotations

from dataclasses import replace

from advisor.plan.planner import plan, proxy_decode_tps, recommend
from advisor.plan.types import OptionPlan, Risk, Severity, SpeedRange, Verdict
from tests.core.plan.builders import dense_facts, dense_weights, machine, model_of, option

MIB = 2**20


def _planned(*sizes_mib: int) -> tuple[OptionPlan, ...]:
    opts = [option(f"Q{i}", dense_weights(size * MIB // 4)) for i, size in enumerate(sizes_mib)]
    return plan(model_of(dense_facts(), *opts), machine(32)).options


def test_largest_usable_option_wins_and_the_sentence_says_why():
    options = _planned(100, 200, 400)
    fast = [replace(o, decode_tps=SpeedRange(20, 25, 30)) for o in options]
    quant, why = recommend(fast, machine(32))
    assert quant == "Q2"
    assert "usable speed" in why and "25 tokens/s expected" in why


def test_too_slow_options_lose_to_usable_ones():
    small, mid, big = _planned(100, 200, 400)
    options = (
        replace(small, decode_tps=SpeedRange(20, 25, 30)),
        replace(mid, decode_tps=SpeedRange(8, 9, 10)),
        replace(big, decode_tps=SpeedRange(1, 2, 3)),
    )
    assert recommend(options, machine(32))[0] == "Q1"


def test_nothing_usable_recommends_the_fastest_and_says_so():
    small, big = _planned(100, 400)
    options = (replace(small, decode_tps=SpeedRange(1, 2, 3)), replace(big, decode_tps=SpeedRange(0.5, 1, 1.5)))
    quant, why = recommend(options, machine(32))
    assert quant == "Q0" and why.startswith("No quantization reaches")


def test_critical_risk_is_avoided_when_a_safe_option_exists():
    small, big = _planned(100, 400)
    bad = Risk(id="cuda.gibberish", severity=Severity.CRITICAL, title="Gibberish", explanation="x")
    options = (
        replace(small, decode_tps=SpeedRange(20, 25, 30)),
        replace(big, decode_tps=SpeedRange(20, 25, 30), risks=(bad,)),
    )
    assert recommend(options, machine(32))[0] == "Q0"
    only_bad = (replace(big, decode_tps=SpeedRange(20, 25, 30), risks=(bad,)),)
    assert recommend(only_bad, machine(32))[0] == "Q1"  # still the only way to run it


def test_nothing_runs_means_no_recommendation():
    (o,) = _planned(100)
    quant, why = recommend((replace(o, verdict=Verdict.IMPOSSIBLE),), machine(32))
    assert quant is None and "No quantization runs" in why


def test_memory_proxy_follows_bandwidth():
    (o,) = _planned(400)
    slow = proxy_decode_tps(replace(o, memory=tuple(replace(r, bandwidth_gbps=20.0) for r in o.memory)), machine(32))
    fast = proxy_decode_tps(replace(o, memory=tuple(replace(r, bandwidth_gbps=200.0) for r in o.memory)), machine(32))
    assert fast > 9 * slow > 0
