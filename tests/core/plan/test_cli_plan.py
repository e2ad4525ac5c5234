"""``rigfit plan``: the table, the JSON, and one clear message for bad input."""

from __future__ import annotations

import json
import re

import pytest

from advisor.cli import main
from advisor.commands.plan import render
from advisor.format import context_tokens
from advisor.plan.planner import plan
from advisor.plan.types import PlanOptions
from tests.core.plan.builders import machine, minimax_model, nvidia


def test_table_reads_at_a_glance():
    p = plan(minimax_model(), machine(128, gpus=(nvidia(),)), PlanOptions(context=32768))
    text = render(p)
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("Quant"))
    for column in ("Size", "Verdict", "Placement", "Context f16/q8 (any)", "Tokens/s", "Worst risk"):
        assert column in header
    q4 = next(line for line in lines if line.startswith("UD-Q4_K_M "))
    assert "GPU + experts in RAM" in q4 and "--n-cpu-moe" in q4 and "140.0 GB" in q4
    # the GUI's and the report's context figures: whole K, rounded down, for every row and the header
    f16, q8 = p.option("UD-Q4_K_M").max_context["f16"], p.option("UD-Q4_K_M").max_context["q8_0"]
    assert f"{context_tokens(f16)} / {context_tokens(q8)}" in q4
    longest = p.option("UD-Q4_K_M").longest_context  # with more of the model in RAM than this placement
    assert (f"({context_tokens(longest)})" in q4) == (longest > max(f16, q8))
    assert "Context 32K tokens, f16 KV cache" in text
    assert not re.search(r"\d\.\dK|\d,\d{3} / ", text)
    assert "streams from disk" in next(line for line in lines if line.startswith("BF16 "))
    assert f"Recommended: {p.recommended}" in text
    assert p.option(p.recommended).llama_cpp_command in text
    gpu = p.option(p.recommended).memory[1]
    assert f"CUDA0: {gpu.total_bytes / 2**30:.1f} of {gpu.capacity_bytes / 2**30:.1f} GiB (weights" in text


def test_cli_reads_hardware_file_and_reports_missing_model_resolver_or_model(tmp_path, capsys):
    hw = tmp_path / "hw.json"
    hw.write_text(machine(64).to_json())
    code = main(["plan", "no-such-model-xyz", "--hardware", str(hw)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("rigfit: ") and "Traceback" not in err


def test_cli_rejects_missing_hardware_file(tmp_path, capsys):
    assert main(["plan", "minimax-m2.7", "--hardware", str(tmp_path / "nope.json")]) == 2
    assert "Cannot read the hardware file" in capsys.readouterr().err


def test_cli_rejects_bad_context(tmp_path, capsys):
    hw = tmp_path / "hw.json"
    hw.write_text(machine(64).to_json())
    assert main(["plan", "x", "--hardware", str(hw), "--context", "-5"]) == 2
    assert "--context must be a positive" in capsys.readouterr().err


def test_cli_rejects_unknown_kv_type(capsys):
    with pytest.raises(SystemExit):
        main(["plan", "x", "--kv-type", "q3_0"])
    assert "invalid choice" in capsys.readouterr().err


def test_cli_json_for_a_catalog_model(tmp_path, capsys):
    pytest.importorskip("advisor.model.catalog", reason="the catalog lands with the model developer's branch")
    hw = tmp_path / "hw.json"
    hw.write_text(machine(128, gpus=(nvidia(),)).to_json())
    assert main(["plan", "minimax-m2.7", "--hardware", str(hw), "--context", "32768", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == "rigfit.plan/1"
    verdicts = {o["quant"]: o["verdict"] for o in data["options"]}
    assert verdicts["UD-Q4_K_M"] == "experts_on_cpu"


def test_table_shows_every_machine_command_for_a_cluster():
    from dataclasses import replace

    from advisor.hardware.types import Gpu
    from tests.core.plan.builders import GIB

    gpu = Gpu(vendor="amd", name="Radeon 8060S", unified_memory=True, working_set_limit_bytes=120 * GIB)
    head, worker = replace(machine(128, gpus=(gpu,)), label="a"), replace(machine(128, gpus=(gpu,)), label="b")
    p = plan(minimax_model(), [head, worker], PlanOptions(context=32768, quants=("UD-Q6_K_XL",)))
    text = render(p)
    assert "needs several machines" in text and "+1 RPC" in text
    assert "on b (rpc-worker): rpc-server -H b -p 50052 -c" in text
    assert "--rpc b:50052" in text


def test_table_truncates_long_risk_titles_and_lists_the_recommended_risks():
    from advisor.model.catalog import load_catalog_model

    p = plan(load_catalog_model("minimax-m2.7"), machine(128, gpus=(nvidia(),)), PlanOptions(context=32768))
    text = render(p)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Quant"))
    table = lines[start + 1 : lines.index("", start)]
    assert len(table) == len(p.options)
    assert all(len(line) < 160 for line in table)
    rec = p.option(p.recommended)
    assert rec.risks and all(risk.title in text for risk in rec.risks)


def test_cli_flash_attention_off_with_quantized_v_is_one_clear_error(tmp_path, capsys):
    hw = tmp_path / "hw.json"
    hw.write_text(machine(64).to_json())
    code = main(["plan", "minimax-m2.7", "--hardware", str(hw), "--kv-type", "q8_0", "--flash-attn", "off"])
    assert code == 2
    err = capsys.readouterr().err
    assert "requires flash attention" in err and "Traceback" not in err


def test_the_longest_context_is_where_planning_that_context_stops_running_from_memory():
    from advisor.plan.planner import IN_MEMORY

    hw = machine(128, gpus=(nvidia(),))
    p = plan(minimax_model(), hw, PlanOptions(context=32768))
    option = next(o for o in p.options if o.verdict in IN_MEMORY and o.longest_context < p.model.context_length)
    longest = option.longest_context
    assert longest >= option.max_context["f16"] and longest % 256 == 0
    at = plan(minimax_model(), hw, PlanOptions(context=longest, quants=(option.quant,))).options[0]
    beyond = plan(minimax_model(), hw, PlanOptions(context=longest + 256, quants=(option.quant,))).options[0]
    assert at.verdict in IN_MEMORY and beyond.verdict not in IN_MEMORY
    assert at.max_context["f16"] >= longest  # planned at that context, the placement holds it
