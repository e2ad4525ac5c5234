"""What the planner needs to know about a model, wherever the facts came from.

The same ``Model`` is built from a GGUF header (local or by HTTP range), a Hub repo's file list, or the
bundled catalog, so the planner has one input shape and plans a catalog model exactly as a header would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar


@dataclass(frozen=True)
class TensorInfo:
    name: str
    type_name: str  # ggml type as gguf names it, lower-case: "q4_k", "iq3_s", "f32"
    ggml_type: int
    shape: tuple[int, ...]  # ne0 first, as stored in GGUF
    n_bytes: int
    shard: int = 1  # 1-based shard number the tensor lives in

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class ModelFacts:
    """Architecture facts with llama.cpp's meaning (GGUF keys ``{arch}.*``), per-layer where it varies."""

    architecture: str
    block_count: int
    context_length: int
    embedding_length: int
    vocab_size: int
    head_count: tuple[int, ...]  # per layer
    head_count_kv: tuple[int, ...]  # per layer; 0 for a layer without a KV cache
    key_length: int
    value_length: int
    feed_forward_length: int | None = None
    rope_dimension_count: int | None = None
    sliding_window: int | None = None
    swa_layers: tuple[int, ...] = ()  # indices of layers that use sliding-window attention
    kv_lora_rank: int | None = None  # MLA (DeepSeek): the cache holds this latent plus the rope part
    key_length_mla: int | None = None
    value_length_mla: int | None = None
    expert_count: int = 0
    expert_used_count: int = 0
    expert_feed_forward_length: int | None = None
    expert_shared_count: int = 0
    leading_dense_block_count: int = 0
    total_params: int = 0
    active_params: int = 0  # parameters a token touches: dense ones fully, experts x used / count
    name: str | None = None
    size_label: str | None = None
    file_type: int | None = None
    license: str | None = None  # general.license
    license_name: str | None = None  # general.license.name
    tensors: tuple[TensorInfo, ...] = ()  # empty when the facts come from the catalog
    tensor_types: tuple[str, ...] = ()  # distinct type names present, sorted
    #: No output.weight: llama.cpp reuses token_embd for the output layer (a second copy on the GPU when offloaded)
    tied_embeddings: bool = False
    #: Trailing blocks that hold a NextN / MTP head (``{arch}.nextn_predict_layers``, GLM-4.5): never loaded
    nextn_predict_layers: int = 0

    @property
    def is_moe(self) -> bool:
        return self.expert_count > 1


@dataclass(frozen=True)
class LayerWeights:
    """Bytes of one transformer block, split the way ``--n-cpu-moe`` splits it."""

    dense_bytes: int = 0  # attention, norms, router, dense or shared-expert FFN
    expert_bytes: int = 0  # routed experts (ffn_*_exps)


@dataclass(frozen=True)
class WeightMap:
    """Where a quant's weight bytes sit: per block, plus the tensors outside the blocks."""

    layers: tuple[LayerWeights, ...]
    token_embd_bytes: int = 0  # stays on the CPU in llama.cpp
    output_bytes: int = 0  # output.weight + output_norm: the extra "layer" -ngl counts
    other_bytes: int = 0  # anything else outside the blocks (rope factors, ...)

    @property
    def total_bytes(self) -> int:
        return (
            self.token_embd_bytes
            + self.output_bytes
            + self.other_bytes
            + sum(layer.dense_bytes + layer.expert_bytes for layer in self.layers)
        )

    @property
    def expert_bytes(self) -> int:
        return sum(layer.expert_bytes for layer in self.layers)


@dataclass(frozen=True)
class RepoFile:
    path: str  # relative to the repo root, e.g. "UD-Q4_K_M/MiniMax-M2.7-UD-Q4_K_M-00001-of-00004.gguf"
    size_bytes: int
    sha256: str | None = None  # the Hub's LFS hash
    source: str | None = None  # where the size came from, for catalog entries


@dataclass(frozen=True)
class QuantOption:
    quant: str  # "UD-Q4_K_M", "Q8_0", "BF16"
    files: tuple[RepoFile, ...]  # all shards, first shard first
    size_bytes: int
    #: Bytes by placement class; None when only the file size is known (the planner scales the facts).
    weights: WeightMap | None = None
    tensor_types: tuple[str, ...] = ()
    #: Distinct types of the routed-expert tensors (names with ``_exps``); some CUDA defects hit only these.
    expert_tensor_types: tuple[str, ...] = ()
    companions: tuple[RepoFile, ...] = ()  # mmproj-*.gguf and other optional files
    source: str | None = None

    @property
    def first_file(self) -> RepoFile:
        return self.files[0]


@dataclass(frozen=True)
class LicenceInfo:
    """Every licence label we could find; ``advisor.risks`` decides what they mean."""

    card_license: str | None = None  # the repo card's `license`
    card_license_name: str | None = None  # `license_name`, e.g. "modified-mit"
    card_license_link: str | None = None
    base_model: str | None = None
    base_license: str | None = None  # the base model's card licence (or name), which wins
    gguf_license: str | None = None
    gguf_license_name: str | None = None
    source: str | None = None


class _Named(Protocol):
    quant: str


_N = TypeVar("_N", bound=_Named)


def option_named(options: Iterable[_N], quant: str) -> _N | None:
    """The option whose quant tag is ``quant`` (case-insensitive), or None: one lookup for every list of options."""
    return next((o for o in options if o.quant.lower() == quant.lower()), None)


@dataclass(frozen=True)
class Model:
    id: str  # what the user typed, normalised: catalog id, repo id or file path
    name: str
    source: str  # "catalog", "hub", "local"
    facts: ModelFacts
    options: tuple[QuantOption, ...]
    licence: LicenceInfo = field(default_factory=LicenceInfo)
    repo: str | None = None
    revision: str | None = None
    notes: tuple[str, ...] = ()

    def option(self, quant: str) -> QuantOption:
        """The option named ``quant`` (case-insensitive)."""
        found = option_named(self.options, quant)
        if found is not None:
            return found
        from advisor.errors import RigfitError

        names = ", ".join(o.quant for o in self.options) or "none"
        raise RigfitError(f"{self.name} has no quantization {quant!r}.", hint=f"Available: {names}.")
