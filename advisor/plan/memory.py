"""Where every byte goes when llama.cpp loads a model with a given placement.

The rules follow llama.cpp's own code (see docs/planner.md for the derivations and sources):

* Weights: token embeddings stay on the CPU; ``-ngl k`` puts the output layer on the last GPU first, then the last
  ``k - 1`` blocks (``i_gpu_start = max(n_layer + 1 - k, 0)``); blocks are split over GPUs by cumulative ``-ts``
  fractions; ``--n-cpu-moe N`` keeps the routed-expert tensors of blocks ``0..N-1`` on the CPU.
* KV cache: per layer ``cells x (row(type_k, key_length x kv_heads) + row(type_v, value_length x kv_heads))`` with
  ``cells = pad(context, 256)`` (``-np N``: N streams of ``pad(cells / N, 256)``); sliding-window layers hold
  ``pad(min(cells, window + ubatch), 256)`` cells per stream; MLA (files with ``key_length_mla``) caches one latent
  row ``kv_lora_rank + rope dims`` and no V. KV lives on the device of its layer.
* Compute buffer: the peak of the graph's live tensors for one micro-batch (derived in docs/planner.md).
* Output buffer: ``n_vocab x 4 B x parallel`` logits rows in host memory.
* Reserves: GPU driver context plus llama.cpp's 1 GiB ``--fit`` margin; RAM headroom for the OS.
* Memory-mapped weights kept on the CPU are page cache, not anonymous memory: the kernel may evict and re-read them,
  so a model larger than RAM still runs (slowly, from disk) as long as the anonymous part fits.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache

from advisor.errors import RigfitError
from advisor.hardware.types import Gpu, Hardware
from advisor.model.facts import weight_map_from_tensors
from advisor.model.types import LayerWeights, ModelFacts, QuantOption, WeightMap
from advisor.plan.types import DeviceMemory, PlanOptions
from advisor.resources import resource_path

MIB = 1024 * 1024
GIB = 1024 * MIB

#: Cache types ``-ctk/-ctv`` accept (tools/server/README.md).
KV_CACHE_TYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")


class PlanInputError(RigfitError):
    """The plan request itself is invalid (an unknown cache type, a quantized V cache without flash attention)."""


# ------------------------------------------------------------------------------------------------- constants


@dataclass(frozen=True)
class MemoryConstants:
    context_pad: int
    swa_pad: int
    gpu_margin_bytes: int
    driver_context_bytes: dict[str, int]
    os_share: float
    os_min_bytes: int
    os_max_bytes: int
    unified_working_set_share: float
    host_activations: int
    peak_activations: int


@cache
def memory_constants() -> MemoryConstants:
    """The sizing constants from ``resources/planner/llama_cpp_memory.toml`` (each with its source there)."""
    with resource_path("planner", "llama_cpp_memory.toml").open("rb") as fh:
        data = tomllib.load(fh)
    drivers = {k: int(v) * MIB for k, v in data["driver_context_mib"].items() if k != "source"}
    return MemoryConstants(
        context_pad=int(data["context"]["pad"]),
        swa_pad=int(data["swa"]["pad"]),
        gpu_margin_bytes=int(data["fit"]["gpu_margin_mib"]) * MIB,
        driver_context_bytes=drivers,
        os_share=float(data["os_headroom"]["share"]),
        os_min_bytes=int(data["os_headroom"]["min_mib"]) * MIB,
        os_max_bytes=int(data["os_headroom"]["max_mib"]) * MIB,
        unified_working_set_share=float(data["unified"]["default_working_set_share"]),
        host_activations=int(data["compute"]["activations_host"]),
        peak_activations=int(data["compute"]["activations_with_peak"]),
    )


def pad(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


# ------------------------------------------------------------------------------------------------- KV cache


@cache
def row_bytes(type_name: str, n_elements: int) -> int:
    """Bytes of one row of ``n_elements`` in ggml type ``type_name`` (block size and bytes from gguf's table)."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        qtype = GGMLQuantizationType[type_name.upper()]
    except KeyError as exc:
        raise PlanInputError(
            f"Unknown cache type {type_name!r}.", hint=f"Use one of: {', '.join(KV_CACHE_TYPES)}."
        ) from exc
    block, size = GGML_QUANT_SIZES[qtype]
    if n_elements % block:
        raise PlanInputError(
            f"A {type_name} cache needs rows that are a multiple of {block} values; this model's rows have "
            f"{n_elements}.",
            hint="Use an f16 or q8_0 cache for this model.",
        )
    return n_elements // block * size


def check_kv_types(type_k: str, type_v: str, flash_attention: bool) -> None:
    """llama.cpp refuses a quantized V cache without flash attention; say so before the user finds out."""
    for name in (type_k, type_v):
        if name.lower() not in KV_CACHE_TYPES:
            raise PlanInputError(f"Unknown cache type {name!r}.", hint=f"Use one of: {', '.join(KV_CACHE_TYPES)}.")
    if type_v.lower() not in ("f32", "f16", "bf16") and not flash_attention:
        raise PlanInputError(
            f"A quantized V cache ({type_v}) requires flash attention; llama.cpp refuses to start without it.",
            hint="Turn flash attention on (-fa on), or keep the V cache at f16.",
        )


_NEXTN = re.compile(r"^blk\.(\d+)\.nextn\.")


def nextn_layers(facts: ModelFacts) -> frozenset[int]:
    """Blocks that hold a NextN / MTP head (``blk.N.nextn.*`` tensors, GLM-4.5 style files).

    llama.cpp loads none of their tensors (``TENSOR_SKIP``) and gives them no KV cache (``n_layer_kv_from_start =
    n_layer - nextn_predict_layers``): they stay in the file, unread. A header's tensor list names them; without
    one (the catalog) they are the last ``nextn_predict_layers`` blocks, where llama.cpp's converter puts them.
    """
    if facts.tensors:
        return frozenset(int(m.group(1)) for t in facts.tensors if (m := _NEXTN.match(t.name)))
    count = min(facts.nextn_predict_layers, facts.block_count)
    return frozenset(range(facts.block_count - count, facts.block_count))


def kv_stream_cells(facts: ModelFacts, context: int, *, ubatch: int = 512, parallel: int = 1) -> tuple[int, ...]:
    """Cells of one KV stream per layer (0 for a layer without a cache); there are ``parallel`` streams.

    ``llama-server -np N`` without ``--kv-unified`` (Rigfit's command) gives each sequence its own stream of
    ``n_ctx_seq = pad(pad(context, 256) / N, 256)`` cells (llama-context.cpp), and a sliding-window layer holds
    ``pad(min(n_ctx_seq, window + n_ubatch), 256)`` cells per stream (llama-kv-cache-iswa.cpp: ``n_swa x 1`` when
    not unified). The KQ masks and attention scores span one stream's cells.
    """
    consts = memory_constants()
    streams = max(1, parallel)
    base = pad(max(1, context), consts.context_pad)
    if streams > 1:
        base = pad(base // streams, consts.context_pad)
    swa_layers = set(facts.swa_layers)
    swa = base
    if facts.sliding_window and swa_layers:
        swa = pad(min(base, facts.sliding_window + ubatch), consts.swa_pad)
    cells = []
    skipped = nextn_layers(facts)
    for layer in range(facts.block_count):
        if (_kv_heads(facts, layer) == 0 and not is_mla(facts)) or layer in skipped:
            cells.append(0)
        else:
            cells.append(swa if layer in swa_layers else base)
    return tuple(cells)


def kv_cells(facts: ModelFacts, context: int, *, ubatch: int = 512, parallel: int = 1) -> tuple[int, ...]:
    """Cells of KV cache each layer allocates over all its streams (0 for a layer without a cache)."""
    per_stream = kv_stream_cells(facts, context, ubatch=ubatch, parallel=parallel)
    return tuple(c * max(1, parallel) for c in per_stream)


def _kv_heads(facts: ModelFacts, layer: int) -> int:
    heads = facts.head_count_kv
    if not heads:
        return 0
    return heads[layer] if layer < len(heads) else heads[-1]


def _q_heads(facts: ModelFacts, layer: int) -> int:
    heads = facts.head_count
    if not heads:
        return 0
    return heads[layer] if layer < len(heads) else heads[-1]


def is_mla(facts: ModelFacts) -> bool:
    """Whether llama.cpp runs this model with MLA (latent cache, absorbed attention).

    ``llama_hparams::is_mla()`` needs both ``attention.key_length_mla`` and ``value_length_mla``, which current
    DeepSeek-style conversions write together with the split ``attn_k_b`` / ``attn_v_b`` tensors. Older files have
    ``kv_lora_rank`` but not those keys: llama.cpp decompresses them into plain multi-head attention and caches
    every head's K and V.
    """
    return bool(facts.kv_lora_rank and facts.key_length_mla and facts.value_length_mla)


def kv_row_widths(facts: ModelFacts, layer: int) -> tuple[int, int]:
    """Values per token in this layer's K and V rows (``n_embd_k_gqa``, ``n_embd_v_gqa``)."""
    heads = _kv_heads(facts, layer)
    if is_mla(facts):
        # MLA: one shared head holding the latent plus the rope part (key_length = kv_lora_rank + rope dims in these
        # files); V is a view of that latent, so there is no V cache (llama-kv-cache.cpp: has_v = !is_mla)
        return facts.key_length * max(1, heads), 0
    return facts.key_length * heads, facts.value_length * heads


def kv_bytes_per_token_by_layer(facts: ModelFacts, type_k: str = "f16", type_v: str = "f16") -> tuple[int, ...]:
    out = []
    for layer in range(facts.block_count):
        k, v = kv_row_widths(facts, layer)
        out.append((row_bytes(type_k, k) if k else 0) + (row_bytes(type_v, v) if v else 0))
    return tuple(out)


def kv_bytes_by_layer(
    facts: ModelFacts,
    context: int,
    type_k: str = "f16",
    type_v: str = "f16",
    *,
    ubatch: int = 512,
    parallel: int = 1,
) -> tuple[int, ...]:
    cells = kv_cells(facts, context, ubatch=ubatch, parallel=parallel)
    per_token = kv_bytes_per_token_by_layer(facts, type_k, type_v)
    return tuple(c * t for c, t in zip(cells, per_token, strict=True))


# ------------------------------------------------------------------------------------------------- weights

_BLOCK = re.compile(r"^blk\.(\d+)\.")


def _param_classes(facts: ModelFacts) -> tuple[int, int, list[tuple[int, int]]]:
    """Parameter counts (token_embd, output, [(dense, experts) per block]) from the architecture facts alone."""
    n_embd = facts.embedding_length
    embd = facts.vocab_size * n_embd
    output = facts.vocab_size * n_embd + n_embd
    layers = []
    for layer in range(facts.block_count):
        q_heads = _q_heads(facts, layer)
        k, v = kv_row_widths(facts, layer)
        if facts.kv_lora_rank:
            v = facts.kv_lora_rank
        attn = n_embd * q_heads * facts.key_length + n_embd * (k + v) + q_heads * facts.value_length * n_embd
        norms = 2 * n_embd
        moe_layer = facts.is_moe and layer >= facts.leading_dense_block_count
        if moe_layer:
            ff_exp = facts.expert_feed_forward_length or facts.feed_forward_length or 4 * n_embd
            experts = 3 * n_embd * ff_exp * facts.expert_count
            shared = 3 * n_embd * ff_exp * facts.expert_shared_count
            router = n_embd * facts.expert_count
            layers.append((attn + norms + shared + router, experts))
        else:
            ff = facts.feed_forward_length or 4 * n_embd
            layers.append((attn + norms + 3 * n_embd * ff, 0))
    return embd, output, layers


def weight_map_from_facts(facts: ModelFacts, size_bytes: int) -> WeightMap:
    """A WeightMap when only the file size is known: parameter counts per class, scaled to the file's bytes.

    Every class gets the file's average bytes per parameter. Real quants keep embeddings and attention at higher
    precision than experts, so this slightly underestimates the GPU share of an MoE at equal total (documented).
    """
    embd, output, layers = _param_classes(facts)
    total = embd + output + sum(d + e for d, e in layers)
    if total <= 0:
        raise RigfitError(f"The facts for {facts.name or facts.architecture} describe no weights.")
    scale = size_bytes / total
    scaled_layers = tuple(LayerWeights(int(d * scale), int(e * scale)) for d, e in layers)
    embd_b, out_b = int(embd * scale), int(output * scale)
    rest = size_bytes - embd_b - out_b - sum(lw.dense_bytes + lw.expert_bytes for lw in scaled_layers)
    return WeightMap(layers=scaled_layers, token_embd_bytes=embd_b, output_bytes=out_b, other_bytes=max(0, rest))


def weight_map_for(facts: ModelFacts, option: QuantOption) -> WeightMap:
    """The option's WeightMap: as given, else exact from the header's tensors when they match, else scaled."""
    if option.weights is not None:
        return option.weights
    if facts.tensors:
        exact = weight_map_from_tensors(facts)
        if abs(exact.total_bytes - option.size_bytes) <= max(64 * MIB, option.size_bytes // 50):
            return exact
    return weight_map_from_facts(facts, option.size_bytes)


# ------------------------------------------------------------------------------------------------- devices


@dataclass(frozen=True)
class DeviceSpec:
    """One memory pool llama.cpp can put buffers in."""

    name: str  # llama.cpp's buffer name: "CPU", "CUDA0", "Metal"
    kind: str  # "cpu", "gpu", "unified"
    capacity_bytes: int | None
    reserve_bytes: int
    bandwidth_gbps: float | None = None
    gpu: Gpu | None = None
    machine: str | None = None  # the RPC worker holding this device; None on the head
    #: The CPU's SIMD features (``Cpu.features``); they decide which weights llama.cpp repacks. None: unknown.
    cpu_features: tuple[str, ...] | None = None


def _backend_prefix(gpu: Gpu, hardware: Hardware) -> str:
    backend = (hardware.llama_cpp.backend if hardware.llama_cpp else None) or ""
    if gpu.vendor == "apple" or backend == "metal":
        return "Metal"
    if backend == "vulkan":
        return "Vulkan"
    if backend == "sycl" or gpu.vendor == "intel":
        return "SYCL"
    if gpu.vendor == "amd" or backend in ("rocm", "hip"):
        return "ROCm"
    return "CUDA"


def os_headroom_bytes(total_ram: int) -> int:
    consts = memory_constants()
    return int(min(consts.os_max_bytes, max(consts.os_min_bytes, total_ram * consts.os_share)))


def ram_capacity_bytes(hardware: Hardware) -> int:
    """RAM a process may use: total, capped by a WSL or cgroup limit."""
    total = hardware.memory.total_bytes
    if hardware.memory.limit_bytes:
        total = min(total, hardware.memory.limit_bytes)
    return total


def cpu_device(hardware: Hardware) -> DeviceSpec:
    ram = ram_capacity_bytes(hardware)
    return DeviceSpec(
        name="CPU",
        kind="cpu",
        capacity_bytes=ram,
        reserve_bytes=os_headroom_bytes(ram),
        bandwidth_gbps=hardware.memory.bandwidth_gbps,
        cpu_features=hardware.cpu.features or None,
    )


def gpu_devices(hardware: Hardware, options: PlanOptions) -> tuple[DeviceSpec, ...]:
    """The GPUs llama.cpp would use, with their capacity and reserve; one shared pool for unified memory."""
    consts = memory_constants()
    out = []
    counters: dict[str, int] = {}
    for gpu in hardware.gpus:
        prefix = _backend_prefix(gpu, hardware)
        driver = consts.driver_context_bytes.get(gpu.vendor, consts.driver_context_bytes.get("default", 0))
        if gpu.unified_memory:
            ram = ram_capacity_bytes(hardware)
            limit = gpu.working_set_limit_bytes or int(ram * consts.unified_working_set_share)
            capacity = min(limit, ram)
            name = "Metal" if prefix == "Metal" else f"{prefix}{counters.get(prefix, 0)}"
            counters[prefix] = counters.get(prefix, 0) + 1
            reserve = driver + options.gpu_margin_bytes
            out.append(DeviceSpec(name, "unified", capacity, reserve, gpu.bandwidth_gbps, gpu))
            continue
        capacity = gpu.vram_free_bytes if gpu.vram_free_bytes is not None else gpu.vram_total_bytes
        if not capacity:
            continue
        index = counters.get(prefix, 0)
        counters[prefix] = index + 1
        reserve = driver + options.gpu_margin_bytes
        out.append(DeviceSpec(f"{prefix}{index}", "gpu", capacity, reserve, gpu.bandwidth_gbps, gpu))
    return tuple(out)


def rpc_devices(worker: Hardware, options: PlanOptions, *, machine: str, first_index: int) -> tuple[DeviceSpec, ...]:
    """What one ``rpc-server`` exposes: every accelerator of the worker, else its CPU (tools/rpc/README.md).

    Named ``RPC<n>`` in ``--rpc`` order; weights sent over RPC are copies, never memory-mapped.
    """
    local = gpu_devices(worker, options)
    if not local:
        ram = ram_capacity_bytes(worker)
        local = (DeviceSpec("CPU", "cpu", ram, os_headroom_bytes(ram), worker.memory.bandwidth_gbps),)
    return tuple(replace(spec, name=f"RPC{first_index + i}", machine=machine) for i, spec in enumerate(local))


# ------------------------------------------------------------------------------------------------- repacking

#: Weight types the CPU backend copies into its ``CPU_REPACK`` buffer, by the CPU features that enable it and the
#: row multiple the matrix needs (ggml-cpu ``repack.cpp``, ``ggml_repack_get_optimal_repack_type``): (type,
#: features that must all be present, rows % n == 0). ARM's neon is implied by dotprod and i8mm.
REPACK_RULES: tuple[tuple[str, frozenset[str], int], ...] = (
    ("q4_0", frozenset({"avx2"}), 8),
    ("q4_0", frozenset({"i8mm"}), 4),
    ("q4_0", frozenset({"dotprod"}), 4),
    ("q4_k", frozenset({"avx2"}), 8),
    ("q4_k", frozenset({"i8mm"}), 8),
    ("q4_k", frozenset({"dotprod"}), 8),
    ("q2_k", frozenset({"avx512f"}), 8),
    ("iq4_nl", frozenset({"avx2"}), 8),
    ("iq4_nl", frozenset({"dotprod"}), 4),
    # MXFP4 (gpt-oss experts): the 8x8 kernels on AVX2 (measured: docs/accuracy.md), 4x4 on ARM with dotprod
    ("mxfp4", frozenset({"avx2"}), 8),
    ("mxfp4", frozenset({"dotprod"}), 4),
)
#: Features assumed when the probe could not read them: AVX2, which every x86-64 CPU of the last decade has.
ASSUMED_CPU_FEATURES = ("avx2",)


def repacked_tensor_bytes(facts: ModelFacts, weights: WeightMap, cpu_features: Sequence[str] | None) -> int:
    """Bytes of the anonymous copy llama.cpp's CPU backend makes of repackable weights (all layers on the CPU).

    Only matrices used by a matmul are repacked (2-D weights and 3-D expert stacks); the token embeddings are read
    with ``get_rows`` and stay mapped. The mapping itself stays too, so these bytes come on top of the file. Counted
    only when the header's tensor list is the one being planned (its bytes match the option's weights).
    """
    if not facts.tensors:
        return 0
    if abs(sum(t.n_bytes for t in facts.tensors) - weights.total_bytes) > max(MIB, weights.total_bytes // 100):
        return 0
    features = set(cpu_features or ASSUMED_CPU_FEATURES)
    skipped = nextn_layers(facts)
    total = 0
    for t in facts.tensors:
        if len(t.shape) < 2 or t.name.startswith("token_embd"):
            continue
        block = _BLOCK.match(t.name)
        if block and int(block.group(1)) in skipped:  # never loaded
            continue
        if any(
            t.type_name == kind and need <= features and t.shape[1] % rows == 0 for kind, need, rows in REPACK_RULES
        ):
            total += t.n_bytes
    return total


# ------------------------------------------------------------------------------------------------- assignment


@dataclass(frozen=True)
class Assignment:
    """Device index (into the plan's device list; 0 is the CPU) for every block's dense part and experts."""

    layer_device: tuple[int, ...]
    expert_device: tuple[int, ...]
    output_device: int


def assign_layers(
    n_layer: int,
    gpu_indices: Sequence[int],
    *,
    n_gpu_layers: int,
    split: Sequence[float] | None = None,
    n_cpu_moe: int = 0,
) -> Assignment:
    """llama.cpp's ``get_layer_buft_list``: layers from the end go to the GPUs, split by cumulative fractions."""
    if not gpu_indices:
        zeros = (0,) * n_layer
        return Assignment(zeros, zeros, 0)
    weights = list(split) if split and len(split) == len(gpu_indices) else [1.0] * len(gpu_indices)
    total = sum(weights) or 1.0
    cumulative = []
    running = 0.0
    for w in weights:
        running += w
        cumulative.append(running / total)
    i_gpu_start = max(n_layer + 1 - n_gpu_layers, 0)
    act = min(n_gpu_layers, n_layer + 1)

    def device_of(il: int) -> int:
        if il < i_gpu_start or il - i_gpu_start >= act:
            return 0
        frac = (il - i_gpu_start) / act
        slot = next((i for i, c in enumerate(cumulative) if c > frac), len(cumulative) - 1)
        return gpu_indices[slot]

    layers = tuple(device_of(il) for il in range(n_layer))
    experts = tuple(0 if il < n_cpu_moe else layers[il] for il in range(n_layer))
    return Assignment(layers, experts, device_of(n_layer))


# ------------------------------------------------------------------------------------------------- compute


@dataclass(frozen=True)
class _Shape:
    n_embd: int
    n_vocab: int
    n_head: int
    n_head_kv: int
    head_k: int
    head_v: int
    ff: int
    ff_exp: int
    n_expert: int
    n_used: int


def _shape(facts: ModelFacts) -> _Shape:
    mla = is_mla(facts)
    latent = (facts.kv_lora_rank or 0) + (facts.rope_dimension_count or 64)
    return _Shape(
        n_embd=facts.embedding_length,
        n_vocab=facts.vocab_size,
        n_head=max(facts.head_count or (1,)),
        n_head_kv=1 if mla else max(facts.head_count_kv or (1,)),
        # MLA attends in the latent space (deepseek2 graph: Q is kv_lora_rank + rope wide per head, one shared
        # K/V head, and each head's output stays kv_lora_rank wide until wv_b decompresses it)
        head_k=latent if mla else facts.key_length,
        head_v=(facts.kv_lora_rank or 0) if mla else facts.value_length,
        ff=facts.feed_forward_length or 4 * facts.embedding_length,
        ff_exp=facts.expert_feed_forward_length or facts.feed_forward_length or 0,
        n_expert=facts.expert_count,
        n_used=facts.expert_used_count,
    )


def mask_bytes(cells: Sequence[int], n_ub: int, element_bytes: int) -> int:
    """One KQ mask per distinct cache size (base and sliding-window), ``cells x n_ub`` elements each."""
    return sum(c * n_ub * element_bytes for c in {c for c in cells if c})


def layer_peak_bytes(facts: ModelFacts, n_kv: int, n_ub: int, flash_attention: bool, moe_layer: bool) -> int:
    """Largest set of live tensors inside one block for ``n_ub`` tokens over ``n_kv`` cells, masks excluded."""
    s = _shape(facts)
    act = n_ub * s.n_embd * 4
    qkv = n_ub * (s.n_head * s.head_k + s.n_head_kv * (s.head_k + s.head_v) + s.n_head * s.head_v) * 4
    # without flash attention the f32 KQ scores are materialised (softmax runs in place on them)
    attn = qkv if flash_attention else qkv + n_kv * n_ub * s.n_head * 4
    if moe_layer and s.n_expert > 1:
        ffn = (
            3 * n_ub * s.ff_exp * s.n_used * 4  # gate, up and their activation product for the chosen experts
            + n_ub * s.n_used * s.n_embd * 4  # expert outputs before the weighted sum
            + 2 * n_ub * s.n_expert * 4  # router logits and probabilities
        )
    else:
        ffn = 3 * n_ub * s.ff * 4  # gate, up and their activation product
    return max(attn, ffn) + memory_constants().peak_activations * act


def output_peak_bytes(facts: ModelFacts, n_ub: int) -> int:
    """Logits of a full micro-batch (llama.cpp reserves the graph with every token an output) plus activations."""
    s = _shape(facts)
    return s.n_vocab * n_ub * 4 + memory_constants().peak_activations * n_ub * s.n_embd * 4


def host_input_bytes(facts: ModelFacts, cells: Sequence[int], n_ub: int) -> int:
    """Inputs the CPU side always builds: the f32 KQ masks plus the embedding lookup and positions."""
    return mask_bytes(cells, n_ub, 4) + memory_constants().host_activations * n_ub * facts.embedding_length * 4


#: llama.cpp's backends run an op on the GPU even when its weight is in RAM once a batch has this many tokens
#: (``min_batch_size = 32`` in ggml-cuda's ``offload_op``), copying the weight into the GPU compute buffer.
OFFLOAD_MIN_BATCH = 32


def staged_weight_bytes(facts: ModelFacts, weights: WeightMap, assignment: Assignment, n_ub: int) -> int:
    """Weights in RAM that prompt processing copies into the first GPU's compute buffer (derived, see docs).

    Since llama.cpp PR #6083 "the weights are now copied to VRAM in the compute buffer" when a large batch is
    offloaded; measured buffers (gguf-parser-go issue #45: Qwen3-0.6B +9.5 MiB = its three Q8_0 FFN matrices;
    OLMoE +108 MiB) fit one block's FFN matrices for a dense model and about half a block's experts for an MoE.
    """
    if n_ub < OFFLOAD_MIN_BATCH or not any(d != 0 for d in assignment.layer_device):
        return 0
    params: list[tuple[int, int]] | None = None
    largest = 0
    for il, lw in enumerate(weights.layers):
        if il >= len(assignment.layer_device):
            break
        staged = 0
        if assignment.expert_device[il] == 0 and lw.expert_bytes:
            staged = lw.expert_bytes // 2
        if assignment.layer_device[il] == 0 and lw.dense_bytes:
            if params is None:
                params = _param_classes(facts)[2]
            dense_params = params[il][0] if il < len(params) else 0
            ffn_params = (
                0
                if (facts.is_moe and il >= facts.leading_dense_block_count)
                else (3 * facts.embedding_length * (facts.feed_forward_length or 4 * facts.embedding_length))
            )
            share = ffn_params / dense_params if dense_params else 0.0
            staged = max(staged, int(lw.dense_bytes * share))
        largest = max(largest, staged)
    return largest


# ------------------------------------------------------------------------------------------------- totals


@dataclass(frozen=True)
class MemoryRequest:
    """Everything besides the placement that decides allocation sizes."""

    context: int
    type_k: str = "f16"
    type_v: str = "f16"
    flash_attention: bool = True
    ubatch: int = 512
    batch: int = 2048
    parallel: int = 1
    mmap: bool = True
    kv_offload: bool = True
    #: The CPU backend repacks some types (q4_0, iq4_nl, q4_K on AVX2) into an anonymous copy when no GPU is used;
    #: that copy cannot be streamed from disk, so a CPU-only ``disk_stream`` plan turns it off (``--no-repack``).
    repack: bool = True

    @property
    def n_ub(self) -> int:
        return max(1, min(self.ubatch, self.batch, pad(self.context, memory_constants().context_pad)))


def device_memory(
    facts: ModelFacts,
    weights: WeightMap,
    devices: Sequence[DeviceSpec],
    assignment: Assignment,
    request: MemoryRequest,
) -> tuple[DeviceMemory, ...]:
    """Bytes per device for one placement; ``devices[0]`` must be the CPU."""
    n = len(devices)
    weight = [0] * n
    mapped = [0] * n
    decode = [0] * n
    kv = [0] * n
    kv_tok = [0] * n
    peaks = [0] * n
    holds = [False] * n
    stream_cells = kv_stream_cells(facts, request.context, ubatch=request.ubatch, parallel=request.parallel)
    cells = tuple(c * max(1, request.parallel) for c in stream_cells)
    per_token = kv_bytes_per_token_by_layer(facts, request.type_k, request.type_v)
    n_ub = request.n_ub
    # masks and attention scores cover one stream's cells for each token of the ubatch
    layer_masks = mask_bytes(stream_cells, n_ub, 2 if request.flash_attention else 4)
    peak_cache: dict[tuple[int, bool], int] = {}
    used_share = (facts.expert_used_count / facts.expert_count) if facts.expert_count > 1 else 1.0

    def put_weights(dev: int, nbytes: int, read: float) -> None:
        weight[dev] += nbytes
        decode[dev] += int(nbytes * read)
        if devices[dev].kind == "cpu" and devices[dev].machine is None and request.mmap:
            mapped[dev] += nbytes

    put_weights(0, weights.token_embd_bytes, 0.0)  # get_rows reads one row per token
    put_weights(0, weights.other_bytes, 0.0)
    skipped = nextn_layers(facts)
    for il, lw in enumerate(weights.layers):
        if il in skipped:
            # a NextN block is never loaded: it stays in the file mapping, unread, and on no GPU (no KV either)
            if request.mmap:
                put_weights(0, lw.dense_bytes + lw.expert_bytes, 0.0)
            continue
        ldev = assignment.layer_device[il] if il < len(assignment.layer_device) else 0
        edev = assignment.expert_device[il] if il < len(assignment.expert_device) else ldev
        put_weights(ldev, lw.dense_bytes, 1.0)
        put_weights(edev, lw.expert_bytes, used_share)
        kdev = ldev if request.kv_offload else 0
        if il < len(cells):
            kv[kdev] += cells[il] * per_token[il]
            kv_tok[kdev] += per_token[il]
            moe_layer = facts.is_moe and il >= facts.leading_dense_block_count
            key = (stream_cells[il], moe_layer)
            if key not in peak_cache:
                peak_cache[key] = layer_peak_bytes(facts, stream_cells[il], n_ub, request.flash_attention, moe_layer)
            peak = peak_cache[key]
            peaks[ldev] = max(peaks[ldev], peak + layer_masks)
            holds[ldev] = True
    out_dev = assignment.output_device
    put_weights(out_dev, weights.output_bytes, 1.0)
    peaks[out_dev] = max(peaks[out_dev], output_peak_bytes(facts, n_ub))
    holds[out_dev] = True
    # the CPU always builds the inputs (f32 masks, embeddings lookup), even when every layer is on a GPU
    peaks[0] = max(peaks[0], host_input_bytes(facts, stream_cells, n_ub))
    holds[0] = True

    # the CPU backend repacks only when no GPU is in use: with one, CPU weights take its host buffer type first.
    # With mmap the file stays mapped and the repacked copy comes on top (anonymous memory); without mmap the
    # repacked tensors are loaded into CPU_REPACK instead of the CPU buffer, so the total does not change.
    if request.repack and request.mmap and not any(d.kind != "cpu" and d.machine is None for d in devices):
        weight[0] += repacked_tensor_bytes(facts, weights, devices[0].cpu_features)
    staged = staged_weight_bytes(facts, weights, assignment, n_ub)
    first_gpu = next((i for i, d in enumerate(devices) if d.kind == "gpu"), None)
    rows = []
    for i, spec in enumerate(devices):
        compute = peaks[i] if holds[i] else 0
        if i == first_gpu:
            compute += staged
        output = facts.vocab_size * 4 * max(1, request.parallel) if i == 0 else 0
        if spec.kind != "cpu" and not (holds[i] or weight[i]):
            compute = 0
        rows.append(
            DeviceMemory(
                device=spec.name,
                kind=spec.kind,
                weights_bytes=weight[i],
                kv_bytes=kv[i],
                compute_bytes=compute,
                output_bytes=output,
                other_bytes=spec.reserve_bytes,
                capacity_bytes=spec.capacity_bytes,
                mapped_weights_bytes=mapped[i],
                decode_read_bytes=decode[i],
                kv_bytes_per_token=kv_tok[i],
                bandwidth_gbps=spec.bandwidth_gbps,
                machine=spec.machine,
            )
        )
    return tuple(rows)


def anonymous_bytes(row: DeviceMemory) -> int:
    """What must be resident: everything except memory-mapped weights, which the page cache may drop."""
    return row.total_bytes - row.mapped_weights_bytes


__all__ = [
    "GIB",
    "KV_CACHE_TYPES",
    "MIB",
    "Assignment",
    "DeviceSpec",
    "MemoryRequest",
    "PlanInputError",
    "anonymous_bytes",
    "assign_layers",
    "check_kv_types",
    "cpu_device",
    "device_memory",
    "gpu_devices",
    "is_mla",
    "kv_bytes_by_layer",
    "kv_bytes_per_token_by_layer",
    "kv_cells",
    "kv_stream_cells",
    "memory_constants",
    "nextn_layers",
    "os_headroom_bytes",
    "repacked_tensor_bytes",
    "row_bytes",
    "rpc_devices",
    "weight_map_for",
    "weight_map_from_facts",
    "weight_map_from_tensors",
]
