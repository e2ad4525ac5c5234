"""Small models and machines built in code, for the planner tests."""

from __future__ import annotations

from advisor.hardware.types import Cpu, Disk, Gpu, Hardware, Memory
from advisor.model.types import LayerWeights, LicenceInfo, Model, ModelFacts, QuantOption, RepoFile, WeightMap

GB = 1000**3
GIB = 1024**3


def minimax_facts() -> ModelFacts:
    """MiniMax M2.7 as issue 4 and tech-facts section 1 state it (62 blocks, 8 KV heads x 128, 256 experts)."""
    return ModelFacts(
        architecture="minimax-m2",
        block_count=62,
        context_length=196608,
        embedding_length=3072,
        vocab_size=200064,
        head_count=(48,) * 62,
        head_count_kv=(8,) * 62,
        key_length=128,
        value_length=128,
        feed_forward_length=1536,
        rope_dimension_count=64,
        expert_count=256,
        expert_used_count=8,
        expert_feed_forward_length=1536,
        total_params=228_690_000_000,
        active_params=10_400_000_000,
        name="MiniMax M2.7",
    )


#: Published sizes (issue 3 / issue 4): quant -> (bytes, shards).
MINIMAX_SIZES = {
    "UD-IQ1_M": (60_700_000_000, 2),
    "UD-IQ3_XXS": (80_100_000_000, 3),
    "UD-Q4_K_M": (140_000_000_000, 4),
    "UD-Q6_K_XL": (207_000_000_000, 5),
    "BF16": (457_000_000_000, 10),
}


def shards(quant: str, size: int, count: int) -> tuple[RepoFile, ...]:
    per = size // count
    return tuple(
        RepoFile(
            path=f"{quant}/MiniMax-M2.7-{quant}-{i:05d}-of-{count:05d}.gguf",
            size_bytes=per + (size - per * count if i == count else 0),
        )
        for i in range(1, count + 1)
    )


def minimax_model() -> Model:
    options = tuple(
        QuantOption(quant=q, files=shards(q, size, n), size_bytes=size) for q, (size, n) in MINIMAX_SIZES.items()
    )
    return Model(
        id="minimax-m2.7",
        name="MiniMax M2.7",
        source="catalog",
        facts=minimax_facts(),
        options=options,
        licence=LicenceInfo(card_license="other", card_license_name="modified-mit"),
        repo="unsloth/MiniMax-M2.7-GGUF",
    )


def dense_facts(**overrides) -> ModelFacts:
    """A small Llama-like dense model: 4 blocks, GQA 8:2, head 64."""
    base = dict(
        architecture="llama",
        block_count=4,
        context_length=8192,
        embedding_length=512,
        vocab_size=1000,
        head_count=(8,) * 4,
        head_count_kv=(2,) * 4,
        key_length=64,
        value_length=64,
        feed_forward_length=1024,
        total_params=20_000_000,
        active_params=20_000_000,
    )
    base.update(overrides)
    return ModelFacts(**base)


def dense_weights(layer_bytes: int, *, embd: int = 10 * 2**20, output: int = 10 * 2**20, n: int = 4) -> WeightMap:
    return WeightMap(
        layers=tuple(LayerWeights(dense_bytes=layer_bytes) for _ in range(n)),
        token_embd_bytes=embd,
        output_bytes=output,
    )


def model_of(facts: ModelFacts, *options: QuantOption, name: str = "test") -> Model:
    return Model(id=name, name=name, source="local", facts=facts, options=options)


def option(quant: str, weights: WeightMap | None = None, size: int | None = None) -> QuantOption:
    size = size if size is not None else (weights.total_bytes if weights else 0)
    return QuantOption(
        quant=quant, files=(RepoFile(path=f"m-{quant}.gguf", size_bytes=size),), size_bytes=size, weights=weights
    )


def machine(
    ram_gib: float,
    *,
    gpus: tuple[Gpu, ...] = (),
    disk_free: int | None = 4000 * GB,
    ram_bw: float | None = None,
    os: str = "linux",
) -> Hardware:
    return Hardware(
        cpu=Cpu(name="test cpu", physical_cores=16, logical_cores=32),
        memory=Memory(total_bytes=int(ram_gib * GIB), bandwidth_gbps=ram_bw),
        gpus=gpus,
        disk=Disk(path="/models", free_bytes=disk_free) if disk_free is not None else None,
        os=os,
    )


def nvidia(name: str = "NVIDIA GeForce RTX 4090", vram_gib: float = 24, index: int = 0, free_gib: float | None = None):
    total = int(vram_gib * GIB)
    free = int(free_gib * GIB) if free_gib is not None else total - 300 * 2**20
    return Gpu(
        vendor="nvidia",
        name=name,
        index=index,
        vram_total_bytes=total,
        vram_free_bytes=free,
        bandwidth_gbps=1008.0,
    )


def apple(ram_gib: float, limit_gib: float | None = None) -> Gpu:
    return Gpu(
        vendor="apple",
        name="Apple M3 Ultra",
        unified_memory=True,
        working_set_limit_bytes=int(limit_gib * GIB) if limit_gib else None,
        bandwidth_gbps=819.0,
    )
