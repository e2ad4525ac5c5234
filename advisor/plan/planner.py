"""``plan(model, hardware, options) -> Plan``: the one entry point every view renders.

Pure: the same model, hardware and options give the same plan; nothing is read from the machine or the network.
For each quantization it chooses a placement (``advisor.plan.placement``), sizes every buffer
(``advisor.plan.memory``), finds the largest context for f16 and q8_0 caches, builds the ``llama-server`` command,
and asks the speed model and the risk engine for their part. Several machines (RPC) are accepted by the signature;
the first is the head; the others are RPC workers used only when the head alone cannot hold the model.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache

from advisor.errors import RigfitError
from advisor.format import context_tokens
from advisor.hardware.types import Hardware
from advisor.model.types import Model, ModelFacts, QuantOption, WeightMap
from advisor.plan.command import llama_server_argv, rpc_server_argv, shell_command
from advisor.plan.memory import MemoryRequest, anonymous_bytes, check_kv_types, memory_constants, weight_map_for
from advisor.plan.placement import (
    Layout,
    PlacementChoice,
    Worker,
    choose_cluster_placement,
    choose_placement,
    cluster_workers,
    largest_true,
    max_context,
)
from advisor.plan.speed import estimate_speed
from advisor.plan.types import (
    DeviceMemory,
    MachineCommand,
    ModelSummary,
    OptionPlan,
    Plan,
    PlanOptions,
    Risk,
    Severity,
    SpeedEstimate,
    Verdict,
)
from advisor.resources import resource_path
from advisor.risks.engine import RiskContext, evaluate_risks
from advisor.risks.licences import identify_licence

#: Context planned when the user gives none: the trained length, capped here (long contexts cost memory).
DEFAULT_CONTEXT_CAP = 32768
MAX_CONTEXT_TYPES = ("f16", "q8_0")
DEFAULT_OPTIONS = PlanOptions()


@dataclass(frozen=True)
class RecommendPolicy:
    usable_decode_tps: float
    gpu_gbps: float
    unified_gbps: float
    cpu_gbps: float
    disk_gbps: float
    quality_cap_bpw: float


@cache
def recommend_policy() -> RecommendPolicy:
    with resource_path("planner", "llama_cpp_memory.toml").open("rb") as fh:
        data = tomllib.load(fh)["recommend"]
    return RecommendPolicy(
        usable_decode_tps=float(data["usable_decode_tps"]),
        gpu_gbps=float(data["proxy_gpu_gbps"]),
        unified_gbps=float(data["proxy_unified_gbps"]),
        cpu_gbps=float(data["proxy_cpu_gbps"]),
        disk_gbps=float(data["proxy_disk_gbps"]),
        quality_cap_bpw=float(data["quality_cap_bpw"]),
    )


def default_context(facts: ModelFacts) -> int:
    trained = facts.context_length or 4096
    return min(trained, DEFAULT_CONTEXT_CAP)


def _speed_for(
    facts: ModelFacts, rows: tuple[DeviceMemory, ...], hardware: Hardware, request: MemoryRequest, verdict: Verdict
) -> SpeedEstimate | None:
    if not verdict.runs:
        return None
    return estimate_speed(
        facts,
        rows,
        hardware,
        request.context,
        disk_stream=verdict is Verdict.DISK_STREAM,
        ubatch=request.ubatch,
    )


def _risks_for(
    model: Model, option: QuantOption, hardware: Hardware, plan: OptionPlan, request: MemoryRequest
) -> tuple[Risk, ...]:
    ctx = RiskContext(
        model=model,
        option=option,
        hardware=hardware,
        option_plan=plan,
        requested_context=request.context,
        kv_cache_type=request.type_k,
    )
    return tuple(evaluate_risks(ctx))


def _disk_shortfall(option: QuantOption, hardware: Hardware) -> str | None:
    disk = hardware.disk
    if disk is None or disk.free_bytes is None:
        return None
    need = sum(f.size_bytes for f in option.files) or option.size_bytes
    if need <= disk.free_bytes:
        return None
    return (
        f"the files ({need / 1e9:.1f} GB) do not fit on the disk at {disk.path} ({disk.free_bytes / 1e9:.1f} GB free)"
    )


def _cluster_choice(
    facts: ModelFacts,
    weights: WeightMap,
    hardware: Hardware,
    workers: Sequence[Worker],
    request: MemoryRequest,
    options: PlanOptions,
) -> PlacementChoice:
    """The head alone when its accelerators hold everything; else the RPC cluster when it holds everything; else
    the head's own fallback (experts or layers in RAM) when it runs from memory; else why even the cluster fails."""
    alone = choose_placement(facts, weights, hardware, request, options)
    if not workers or alone.verdict in (Verdict.GPU, Verdict.MULTI_GPU, Verdict.UNIFIED):
        return alone
    cluster = choose_cluster_placement(facts, weights, hardware, workers, request, options)
    if cluster.verdict is Verdict.RPC_CLUSTER:
        return cluster
    if alone.verdict not in (Verdict.DISK_STREAM, Verdict.IMPOSSIBLE):
        return alone
    if alone.verdict is Verdict.DISK_STREAM:
        return replace(cluster, reason=f"{cluster.reason}; alone, this machine could only stream the weights from disk")
    return cluster


def _machine_commands(layout: Layout, workers: Sequence[Worker], head_command: str) -> tuple[MachineCommand, ...]:
    consts = rpc_constants()
    out = []
    for worker in workers:
        host, _, port = worker.endpoint.rpartition(":")
        out.append(
            MachineCommand(
                machine=worker.label,
                role="rpc-worker",
                command=shell_command(rpc_server_argv(host, int(port))),
                note=consts["caveat_unauthenticated"],
            )
        )
    out.append(MachineCommand(machine="head", role="head", command=head_command, note=consts["caveat_fit"]))
    return tuple(out)


@cache
def rpc_constants() -> dict:
    with resource_path("planner", "llama_cpp_memory.toml").open("rb") as fh:
        return tomllib.load(fh)["rpc"]


#: Placements that hold the whole model in memory (one machine's or several): what "fits" means for a context.
IN_MEMORY = frozenset(
    {
        Verdict.GPU,
        Verdict.MULTI_GPU,
        Verdict.UNIFIED,
        Verdict.EXPERTS_ON_CPU,
        Verdict.PARTIAL_OFFLOAD,
        Verdict.CPU,
        Verdict.RPC_CLUSTER,
    }
)


def plan_option(
    model: Model,
    option: QuantOption,
    hardware: Hardware,
    request: MemoryRequest,
    options: PlanOptions,
    workers: Sequence[Worker] = (),
) -> OptionPlan:
    """Placement, memory, largest context, command, speed and risks for one quantization."""
    facts = model.facts
    weights = weight_map_for(facts, option)
    chosen = _cluster_choice(facts, weights, hardware, workers, request, options)
    verdict, reason, layout = chosen.verdict, chosen.reason, chosen.layout

    runs = verdict.runs
    search_layout = layout if runs else Layout(layout.devices[:1], 0)
    # CPU-only streaming only works while every weight stays a file mapping: no repacked anonymous copies
    streaming_on_cpu = verdict is Verdict.DISK_STREAM and len(layout.devices) == 1
    sized_request = replace(request, repack=False) if streaming_on_cpu else request
    contexts: dict[str, int] = {}
    # When even the cluster cannot hold it, a context search over the head alone would answer another question.
    for kv_type in () if (workers and not runs) else MAX_CONTEXT_TYPES:
        v_type = kv_type if request.flash_attention else "f16"
        contexts[kv_type] = max_context(
            facts,
            weights,
            search_layout,
            replace(sized_request, type_k=kv_type, type_v=v_type),
            allow_stream=verdict in (Verdict.DISK_STREAM, Verdict.IMPOSSIBLE),
        )
    if not runs:
        fitting = contexts.get(request.type_k) or contexts.get("f16") or 0
        if fitting:
            reason += f"; a context of at most {context_tokens(fitting)} tokens would fit"  # rounded down

    shortfall = _disk_shortfall(option, hardware)
    if shortfall:
        verdict, reason = Verdict.IMPOSSIBLE, shortfall

    here = contexts.get(request.type_k, 0) if verdict in IN_MEMORY else 0
    longest = max(here, _longest_context(facts, weights, hardware, workers, request, options, known=here))

    argv = llama_server_argv(option.files, layout, sized_request, download_dir=options.download_dir)
    clustered = verdict is Verdict.RPC_CLUSTER
    # the speed model plans one machine; RPC hops are not in it yet, so a cluster gets no made-up figure
    speed = None if clustered else _speed_for(facts, chosen.memory, hardware, request, verdict)
    result = OptionPlan(
        quant=option.quant,
        files=option.files,
        size_bytes=option.size_bytes,
        verdict=verdict,
        verdict_reason=reason,
        placement=layout.placement(request.kv_offload),
        memory=chosen.memory,
        context=request.context,
        max_context=contexts,
        longest_context=longest,
        decode_tps=speed.decode_tps if speed else None,
        prefill_tps=speed.prefill_tps if speed else None,
        decode_tps_at_context=speed.decode_tps_at_context if speed else None,
        estimate_basis=speed.estimate_basis if speed else None,
        llama_cpp_command=shell_command(argv) if verdict.runs else "",
        llama_cpp_argv=argv if verdict.runs else (),
        tensor_types=option.tensor_types or facts.tensor_types,
        machine_commands=_machine_commands(layout, workers, shell_command(argv)) if clustered else (),
    )
    # --- rpc (issue 11): a cluster's speed with its network hops and every machine's command (advisor/plan/cluster.py)
    if clustered:
        from advisor.plan.cluster import complete_cluster_option

        result = complete_cluster_option(
            result, facts, head=hardware, workers=workers, request=request, options=options
        )
    # --- end rpc
    risks = _risks_for(model, option, hardware, result, request)
    if clustered:  # rpc (issue 11): the caveats every cluster carries, with their sources
        from advisor.plan.cluster import with_cluster_caveats

        risks = with_cluster_caveats(risks, extra=result.risks)
    return replace(result, risks=risks)


def proxy_decode_tps(option: OptionPlan, hardware: Hardware) -> float:
    """A memory-bandwidth proxy for decode speed, used only to rank options when no speed estimate exists."""
    policy = recommend_policy()
    seconds = 0.0
    for row in option.memory:
        default = {"gpu": policy.gpu_gbps, "unified": policy.unified_gbps}.get(row.kind, policy.cpu_gbps)
        bandwidth = (row.bandwidth_gbps or default) * 1e9
        read = row.decode_read_bytes + option.context * row.kv_bytes_per_token // 2
        if option.verdict is Verdict.DISK_STREAM and row.kind == "cpu" and row.mapped_weights_bytes:
            cacheable = max(0, (row.capacity_bytes or 0) - anonymous_bytes(row))
            miss = max(0.0, 1.0 - cacheable / row.mapped_weights_bytes)
            disk = (hardware.disk.read_gbps if hardware.disk and hardware.disk.read_gbps else policy.disk_gbps) * 1e9
            seconds += read * miss / disk
            read = int(read * (1 - miss))
        seconds += read / bandwidth
    return 1.0 / seconds if seconds > 0 else 0.0


def recommend(
    options: Sequence[OptionPlan], hardware: Hardware, total_params: int = 0
) -> tuple[str | None, str | None]:
    """The best-quality option that runs at a usable speed, and one sentence saying why.

    Quality is bits per weight, capped where quantization stops mattering (Q8_0 and up count as equal, and then
    the faster one wins); without a parameter count, the file size.
    """
    runnable = [o for o in options if o.verdict.runs]
    if not runnable:
        return None, "No quantization runs on this machine at this context."
    safe = [o for o in runnable if o.worst_severity is not Severity.CRITICAL] or runnable
    policy = recommend_policy()

    def speed(o: OptionPlan) -> tuple[float, bool]:
        if o.decode_tps is not None:
            return o.decode_tps.mid, True
        return proxy_decode_tps(o, hardware), False

    def quality(o: OptionPlan) -> float:
        if total_params <= 0:
            return float(o.size_bytes)
        return min(o.size_bytes * 8 / total_params, policy.quality_cap_bpw)

    usable = [o for o in safe if speed(o)[0] >= policy.usable_decode_tps]
    # streaming from disk depends on which experts a prompt touches: never prefer it to an option held in memory
    in_memory = [o for o in usable if o.verdict is not Verdict.DISK_STREAM]
    usable = in_memory or usable
    if usable:
        best = max(usable, key=lambda o: (quality(o), speed(o)[0]))
        return best.quant, (
            f"{best.quant} is the highest-quality quantization that runs at a usable speed here "
            f"({_speed_words(best, speed(best)[0])}){_where_words(best)}"
        )
    best = max(safe, key=lambda o: speed(o)[0])
    return best.quant, (
        f"None of the quantizations reaches a usable speed here ({policy.usable_decode_tps:g} tokens/s or more); "
        f"{best.quant} is the fastest ({_speed_words(best, speed(best)[0])}){_where_words(best)}"
    )


def _speed_words(option: OptionPlan, proxy_tps: float) -> str:
    """The speed as people read it: the speed model's range, else the rough bandwidth figure, said to be rough."""
    from advisor.format import speed_range

    if option.decode_tps is not None:
        return f"{speed_range(option.decode_tps)} expected"
    return f"about {proxy_tps:.1f} tokens/s, a rough estimate from memory speed"


def _where_words(option: OptionPlan) -> str:
    """Where the model sits, ending the sentence: a count where llama.cpp splits it, else the verdict's sentence."""
    from advisor.format import verdict_sentence

    placement = option.placement
    if option.verdict is Verdict.EXPERTS_ON_CPU and placement.n_cpu_moe:
        return f", with the experts of {placement.n_cpu_moe} layers in RAM."
    if option.verdict is Verdict.PARTIAL_OFFLOAD and placement.n_gpu_layers:
        return f", with {placement.n_gpu_layers} layers on the GPU and the rest in RAM."
    return ". " + verdict_sentence(option.verdict)


def _summary(model: Model) -> ModelSummary:
    facts = model.facts
    # the risk engine's verdict on which licence applies (the base model's wins over a quant repo's label)
    verdict = identify_licence(model)
    licence, commercial = verdict.licence.id, verdict.commercial
    return ModelSummary(
        id=model.id,
        name=model.name,
        architecture=facts.architecture,
        total_params=facts.total_params,
        active_params=facts.active_params,
        context_length=facts.context_length,
        repo=model.repo,
        licence=licence,
        licence_commercial=commercial,
    )


def _longest_context(
    facts: ModelFacts,
    weights: WeightMap,
    head: Hardware,
    workers: Sequence[Worker],
    request: MemoryRequest,
    options: PlanOptions,
    *,
    known: int,
) -> int:
    """The longest context at which the quant still runs from memory with SOME placement (0: none does).

    An option's ``max_context`` keeps the placement chosen for the planned context; a longer context can still
    fit when more of the model moves to RAM (more ``--n-cpu-moe`` layers, a lower ``-ngl``). This searches the
    context (llama.cpp's 256-cell steps, up to the trained length) with the placement choice ``plan`` makes.
    ``known`` is a context already known to fit with this option's placement: at the trained length there is
    nothing longer to look for.
    """
    step = memory_constants().context_pad
    if known >= facts.context_length:
        return known

    def fits(units: int) -> bool:
        context = replace(request, context=units * step)
        return _cluster_choice(facts, weights, head, workers, context, options).verdict in IN_MEMORY

    top = max(1, facts.context_length // step)
    if fits(top):  # small quants: the whole trained length, in one look
        return top * step
    # Bracket with the planned context first: the search then spans only one side of it.
    planned = min(top, max(1, request.context // step))
    best = largest_true(planned, top - 1, fits) if fits(planned) else largest_true(1, planned - 1, fits)
    return best * step if best else 0


def plan(model: Model, hardware: Hardware | Sequence[Hardware], options: PlanOptions = DEFAULT_OPTIONS) -> Plan:
    """Plan every quantization of ``model`` for ``hardware`` (the first machine when several are given)."""
    machines = (hardware,) if isinstance(hardware, Hardware) else tuple(hardware)
    if not machines:
        raise RigfitError("No hardware to plan for.", hint="Give a hardware file, or let Rigfit probe this machine.")
    head = machines[0]
    facts = model.facts
    context = options.context or default_context(facts)
    if context <= 0:
        raise RigfitError(f"The context must be a positive number of tokens, not {context}.")
    flash = True if options.flash_attention is None else options.flash_attention
    check_kv_types(options.kv_type_k, options.kv_type_v, flash)
    request = MemoryRequest(
        context=context,
        type_k=options.kv_type_k.lower(),
        type_v=options.kv_type_v.lower(),
        flash_attention=flash,
        ubatch=options.ubatch,
        batch=options.batch,
        parallel=options.parallel,
        mmap=options.mmap,
    )
    chosen = [model.option(q) for q in options.quants] if options.quants else list(model.options)
    if not chosen:
        raise RigfitError(f"{model.name} lists no GGUF quantizations to plan.")
    workers = cluster_workers(machines, int(rpc_constants()["default_port"]))
    planned = tuple(plan_option(model, opt, head, request, options, workers) for opt in chosen)
    recommended, why = recommend(planned, head, facts.total_params)
    return Plan(
        model=_summary(model),
        hardware=machines,
        context=context,
        request=options,
        options=planned,
        recommended=recommended,
        recommended_reason=why,
    )


__all__ = ["IN_MEMORY", "default_context", "plan", "plan_option", "proxy_decode_tps", "recommend"]
