"""Plans for real GGUF files written with gguf.GGUFWriter, resolved the way `rigfit plan FILE` resolves them.

Expected numbers come from the fixture's own tensor list (``expected_tensors``) and gguf's block table, not from the
code under test.
"""

from __future__ import annotations

import json
import shlex

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

from advisor.cli import main
from advisor.model.resolve import resolve_model
from advisor.plan.planner import plan
from advisor.plan.types import PlanOptions, Verdict
from tests.core.plan.builders import machine, nvidia
from tests.fixtures.ggufs import GGUFSpec, expected_tensors, tensor_type_for, write_gguf

Q8_0 = GGMLQuantizationType.Q8_0
MIB = 2**20


def _bytes(spec: GGUFSpec, shape: tuple[int, ...]) -> int:
    block, size = GGML_QUANT_SIZES[tensor_type_for(spec, shape)]
    n = 1
    for d in shape:
        n *= d
    return n // block * size


def _class_bytes(spec: GGUFSpec) -> dict[str, int]:
    out = {"token_embd": 0, "output": 0, "experts": 0, "dense": 0}
    for name, shape, is_expert in expected_tensors(spec):
        nbytes = _bytes(spec, shape)
        if name.startswith("token_embd"):
            out["token_embd"] += nbytes
        elif name.startswith("output"):
            out["output"] += nbytes
        elif is_expert:
            out["experts"] += nbytes
        else:
            out["dense"] += nbytes
    return out


def _gpu(vram_mib: float):
    return nvidia(vram_gib=vram_mib / 1024, free_gib=vram_mib / 1024)


DENSE = GGUFSpec(n_layers=4, n_embd=256, n_head=8, n_head_kv=2, n_ff=512, n_vocab=512, weight_type=Q8_0)


def test_dense_file_on_a_gpu_places_every_byte_llama_cpp_would(tmp_path):
    (path,) = write_gguf(tmp_path / "Tiny-Q8_0.gguf", DENSE)
    model = resolve_model(str(path))
    p = plan(model, machine(16, gpus=(nvidia(vram_gib=8),)), PlanOptions(context=4096))
    o = p.options[0]
    assert o.verdict is Verdict.GPU
    cpu, gpu = o.memory
    expected = _class_bytes(DENSE)
    assert cpu.weights_bytes == expected["token_embd"]  # input embeddings stay on the CPU
    assert gpu.weights_bytes == expected["dense"] + expected["output"]
    per_token = 4 * 2 * (2 * 32) * 2  # layers x (K + V) x (kv heads x head dim) x f16
    assert gpu.kv_bytes == 4096 * per_token and gpu.kv_bytes_per_token == per_token
    assert cpu.output_bytes == 512 * 4
    argv = shlex.split(o.llama_cpp_command)
    assert argv[argv.index("-m") + 1] == str(path) and argv[argv.index("-ngl") + 1] == "5"


def test_moe_file_keeps_expert_tensors_of_the_first_layers_in_ram(tmp_path):
    spec = GGUFSpec(
        arch="qwen3moe",
        n_layers=6,
        n_embd=256,
        n_head=8,
        n_head_kv=2,
        n_vocab=512,
        experts=64,
        experts_used=4,
        expert_ff=256,
        weight_type=Q8_0,
    )
    (path,) = write_gguf(tmp_path / "Moe-Q8_0.gguf", spec)
    model = resolve_model(str(path))
    per_layer_experts = _class_bytes(spec)["experts"] // 6
    # a GPU 3.5 layers of experts short of holding everything
    whole = plan(model, machine(16, gpus=(nvidia(vram_gib=8),)), PlanOptions(context=2048)).options[0]
    assert whole.verdict is Verdict.GPU
    need = whole.memory[1].total_bytes
    hw = machine(16, gpus=(_gpu((need - 3.5 * per_layer_experts) / MIB),))
    o = plan(model, hw, PlanOptions(context=2048)).options[0]
    assert o.verdict is Verdict.EXPERTS_ON_CPU
    n = o.placement.n_cpu_moe
    assert 4 <= n < 6  # at least 3.5 layers' experts moved, never all
    cpu, gpu = o.memory
    assert cpu.weights_bytes == _class_bytes(spec)["token_embd"] + n * per_layer_experts
    assert gpu.total_bytes <= gpu.capacity_bytes
    assert cpu.decode_read_bytes == n * per_layer_experts * 4 // 64


def test_sliding_window_file_sizes_window_layers_by_their_window(tmp_path):
    spec = GGUFSpec(
        arch="gemma3",
        n_layers=6,
        n_embd=256,
        n_head=4,
        n_head_kv=1,
        head_dim=64,
        n_vocab=512,
        sliding_window=512,
        weight_type=Q8_0,
    )
    (path,) = write_gguf(tmp_path / "Swa-Q8_0.gguf", spec)
    model = resolve_model(str(path))
    facts = model.facts
    assert facts.swa_layers  # gemma3: five sliding-window layers for each global one
    o = plan(model, machine(16), PlanOptions(context=16384)).options[0]
    per_layer_token = 2 * 64 * 2
    swa_cells = 1024  # pad(512 window + 512 ubatch, 256)
    n_swa = len(facts.swa_layers)
    expected = (n_swa * swa_cells + (6 - n_swa) * 16384) * per_layer_token
    assert o.memory[0].kv_bytes == expected


def test_split_file_plans_all_shards_and_runs_the_first(tmp_path):
    paths = write_gguf(tmp_path / "Split-Q8_0.gguf", DENSE, split_max_tensors=10)
    assert len(paths) > 1
    model = resolve_model(str(paths[1]))  # any shard names the model
    o = plan(model, machine(16)).options[0]
    assert o.size_bytes == sum(p.stat().st_size for p in paths)
    argv = shlex.split(o.llama_cpp_command)
    assert argv[argv.index("-m") + 1] == str(paths[0])
    expected = _class_bytes(DENSE)
    assert o.memory[0].weights_bytes == sum(expected.values())


def test_cli_plans_a_local_file_as_json(tmp_path, capsys):
    (path,) = write_gguf(tmp_path / "Tiny-Q8_0.gguf", DENSE)
    hw = tmp_path / "hw.json"
    hw.write_text(machine(16, gpus=(nvidia(vram_gib=8),)).to_json())
    assert main(["plan", str(path), "--hardware", str(hw), "--context", "2048", "--kv-type", "q8_0", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (opt,) = data["options"]
    assert opt["verdict"] == "gpu" and data["context"] == 2048
    assert "-ctk q8_0 -ctv q8_0" in opt["llama_cpp_command"]
    gpu = opt["memory"]["devices"][1]
    assert gpu["kv_bytes"] == 2048 * 4 * (2 * 64) * 34 // 32


def test_cli_table_for_a_local_file(tmp_path, capsys):
    (path,) = write_gguf(tmp_path / "Tiny-Q8_0.gguf", DENSE)
    hw = tmp_path / "hw.json"
    hw.write_text(machine(16).to_json())
    assert main(["plan", str(path), "--hardware", str(hw)]) == 0
    out = capsys.readouterr().out
    assert "CPU only" in out and "Recommended:" in out and str(path) in out


def test_cli_missing_file_is_one_clear_error(tmp_path, capsys):
    hw = tmp_path / "hw.json"
    hw.write_text(machine(16).to_json())
    assert main(["plan", str(tmp_path / "nope.gguf"), "--hardware", str(hw)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rigfit: ") and "Traceback" not in err


def test_cli_without_hardware_file_probes_this_machine(tmp_path, capsys):
    (path,) = write_gguf(tmp_path / "Tiny-Q8_0.gguf", DENSE)
    assert main(["plan", str(path), "--download-dir", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["hardware"]["memory"]["total_bytes"] > 0
    assert data["hardware"]["disk"]["path"]  # the download dir's disk was probed for free space
    assert data["options"][0]["verdict"] != "impossible"
