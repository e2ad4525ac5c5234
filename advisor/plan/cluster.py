"""Plans across several machines with llama.cpp's RPC backend: network cost, per-machine commands, caveats.

The placement itself (every layer over the workers' devices first, then the head's GPUs, ``-ts`` in proportion to
free memory after each device's reserve) is ``advisor.plan.placement.choose_cluster_placement``; the planner calls
it when the head alone cannot hold a quantization. This module finishes such an option:

- speed: each machine's devices through the speed model (``advisor.plan.speed``), machine after machine, plus the
  network: for every worker, one request/response per forward pass and the hidden state in and out
  (``embedding_length`` x 4 bytes per token; per micro-batch in prompt processing) over the link;
- the exact command for each machine (``rpc-server -H HOST -p PORT -c`` on the workers, ``llama-server ... --rpc``
  on the head) with what each machine will hold;
- the caveats every cluster shares (unauthenticated RPC, ``--fit`` with RPC, ...) from
  ``resources/rpc/caveats.toml``, added as risks beside the risk engine's own.

Link figures (1/2.5/10 GbE, USB4/Thunderbolt) and the measured per-worker RPC overhead live in
``resources/specs/network.toml`` with their sources; the user's own figures (``--link-gbps``,
``--link-latency-ms``) replace the preset's.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from types import ModuleType

from advisor.errors import RigfitError
from advisor.hardware.types import Hardware
from advisor.model.types import ModelFacts
from advisor.plan.command import rpc_server_argv, shell_command
from advisor.plan.memory import GIB, MemoryRequest
from advisor.plan.placement import Worker
from advisor.plan.types import (
    DeviceMemory,
    MachineCommand,
    OptionPlan,
    PlanOptions,
    Risk,
    Severity,
    SpeedEstimate,
    SpeedRange,
)
from advisor.resources import resource_path

HEAD = "head"


@dataclass(frozen=True)
class Link:
    """The network between the head and its workers."""

    name: str
    label: str
    gbps: float  # line rate, Gbit/s
    goodput_share: float  # share of the line rate a bulk TCP transfer reaches
    rtt_ms: float  # one round trip
    source: str = ""

    @property
    def bytes_per_second(self) -> float:
        return self.gbps * self.goodput_share * 1e9 / 8


@dataclass(frozen=True)
class RpcCosts:
    bytes_per_value: int  # the hidden state crosses the network as F32
    overhead_ms_per_worker: float  # llama.cpp RPC's own cost per worker per forward pass (measured)
    round_trips_per_worker: int
    spread_low: float
    spread_high: float
    slow_link_share: float = 0.25
    overhead_source: str = ""


@dataclass(frozen=True)
class NetworkSpec:
    links: dict[str, Link]
    default_link: str
    costs: RpcCosts


@cache
def network_spec() -> NetworkSpec:
    with resource_path("specs", "network.toml").open("rb") as fh:
        data = tomllib.load(fh)
    links = {
        name: Link(
            name=name,
            label=str(row["label"]),
            gbps=float(row["gbps"]),
            goodput_share=float(row["goodput_share"]),
            rtt_ms=float(row["rtt_ms"]),
            source=str(row["gbps_source"]),
        )
        for name, row in data["link"].items()
    }
    rpc = data["rpc"]
    costs = RpcCosts(
        bytes_per_value=int(data["activations"]["bytes_per_value"]),
        overhead_ms_per_worker=float(rpc["overhead_ms_per_worker"]),
        round_trips_per_worker=int(rpc["round_trips_per_worker"]),
        spread_low=float(rpc["spread_low"]),
        spread_high=float(rpc["spread_high"]),
        slow_link_share=float(rpc["slow_link_share"]),
        overhead_source=str(rpc["overhead_source"]),
    )
    return NetworkSpec(links=links, default_link=str(data["default"]["link"]), costs=costs)


def link_names() -> tuple[str, ...]:
    return tuple(network_spec().links)


def link_for(options: PlanOptions) -> Link:
    """The preset the user named (or the default), with any measured figures the user gave in its place."""
    spec = network_spec()
    name = (options.link or spec.default_link).lower()
    if name not in spec.links:
        raise RigfitError(
            f"Unknown network link {options.link!r}.",
            hint=f"Use one of {', '.join(spec.links)}, or give --link-gbps and --link-latency-ms.",
        )
    link = spec.links[name]
    if options.link_gbps is not None:
        if options.link_gbps <= 0:
            raise RigfitError(f"The link speed must be a positive number of Gbit/s, not {options.link_gbps}.")
        # a measured figure (iperf3) is already goodput
        link = replace(link, label=f"{options.link_gbps:g} Gbit/s (yours)", gbps=options.link_gbps, goodput_share=1.0)
    if options.link_latency_ms is not None:
        if options.link_latency_ms < 0:
            raise RigfitError(f"The link latency cannot be negative ({options.link_latency_ms} ms).")
        link = replace(link, rtt_ms=options.link_latency_ms)
    return link


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ADDRESS = re.compile(r"[A-Za-z0-9.:\[\]%_-]+")


def parse_machine_spec(spec: str) -> tuple[str | None, str | None, str]:
    """``FILE``, ``NAME=FILE`` or ``NAME@ADDRESS=FILE`` -> (name, address, file).

    A spec that names an existing file is always just a file, even with ``=`` in its name."""
    if "=" not in spec or Path(spec).exists():
        return None, None, spec
    left, path = spec.split("=", 1)
    name, _, address = left.partition("@")
    if not _NAME.fullmatch(name) or (address and not _ADDRESS.fullmatch(address)) or not path:
        raise RigfitError(
            f"Cannot read the machine {spec!r}.",
            hint="Give FILE, NAME=FILE or NAME@ADDRESS=FILE, e.g. worker1@192.168.1.21=worker1.json.",
        )
    return name, address or None, path


# ------------------------------------------------------------------------------------------------ network cost


@dataclass(frozen=True)
class NetworkCost:
    """What the network adds, for ``workers`` RPC workers on ``link``."""

    workers: int
    bytes_per_token: int  # hidden state in and out of every worker, per token
    decode_seconds: float  # per decoded token
    prefill_seconds_per_ubatch: float  # per micro-batch of prompt tokens
    ubatch: int

    @property
    def prefill_seconds_per_token(self) -> float:
        return self.prefill_seconds_per_ubatch / max(1, self.ubatch)


def network_cost(embedding_length: int, workers: int, link: Link, ubatch: int, costs: RpcCosts) -> NetworkCost:
    """Per worker and forward pass: round trips x RTT + RPC overhead + hidden state in and out / goodput."""
    per_token = 2 * embedding_length * costs.bytes_per_value
    fixed = costs.round_trips_per_worker * link.rtt_ms / 1e3 + costs.overhead_ms_per_worker / 1e3
    decode = workers * (fixed + per_token / link.bytes_per_second)
    prefill = workers * (fixed + per_token * ubatch / link.bytes_per_second)
    return NetworkCost(workers, per_token * workers, decode, prefill, ubatch)


# ------------------------------------------------------------------------------------------------------ speed


def _speed_module() -> ModuleType | None:
    """The speed model (dev ``speed``) once it has landed; any other import failure is a real bug."""
    try:
        return importlib.import_module("advisor.plan.speed")
    except ModuleNotFoundError as exc:
        if exc.name and "advisor.plan.speed".startswith(exc.name):
            return None
        raise


def rows_by_machine(rows: Sequence[DeviceMemory]) -> dict[str, list[DeviceMemory]]:
    """The option's memory rows per machine, in llama.cpp's device order; the head's rows under ``HEAD``.

    Worker rows are renamed to their local device index (``GPU0``, ``GPU1``, ...) so that the speed model finds the
    worker's own GPU for each of them."""
    out: dict[str, list[DeviceMemory]] = {}
    for row in rows:
        key = row.machine or HEAD
        group = out.setdefault(key, [])
        if row.machine is not None and row.kind != "cpu":
            row = replace(row, device=f"GPU{len(group)}")
        group.append(row)
    return out


@dataclass(frozen=True)
class ClusterSpeed:
    estimate: SpeedEstimate
    network: NetworkCost
    link: Link
    #: The devices' own time at the middle of the range, without the network: per decoded token (empty context)
    #: and per prompt token.
    device_decode_seconds: float = 0.0
    device_prefill_seconds: float = 0.0


def cluster_speed(
    facts: ModelFacts,
    rows: Sequence[DeviceMemory],
    machines: dict[str, Hardware],
    link: Link,
    request: MemoryRequest,
) -> ClusterSpeed | None:
    """Decode and prompt speed of a cluster: every machine's devices in turn, plus the network hops.

    None when the speed model is not part of this build."""
    speed = _speed_module()
    if speed is None:
        return None
    model = speed.default_speed_model()
    workload = speed.Workload.from_facts(facts)
    costs = network_spec().costs
    groups = rows_by_machine(rows)
    workers = sum(1 for key in groups if key != HEAD)
    net = network_cost(facts.embedding_length, workers, link, request.ubatch, costs)

    per_machine = []
    for key, machine_rows in groups.items():
        hardware = machines[key]
        works = speed.device_work(machine_rows, hardware, model)
        if works:
            per_machine.append((hardware, works))
    if not per_machine:
        return None
    total_read = sum(max(1, w.decode_read_bytes) for _, works in per_machine for w in works)

    def decode_seconds(depth: float) -> float:
        seconds = 0.0
        for hardware, works in per_machine:
            disk = hardware.disk.read_gbps if hardware.disk else None
            seconds += speed.decode_seconds_per_token(works, model, depth, disk)
        return seconds

    prefill_devices = 0.0
    for _, works in per_machine:
        share = sum(max(1, w.decode_read_bytes) for w in works) / total_read
        prefill_devices += share * speed.prefill_seconds_per_token(works, workload, model, ubatch=request.ubatch)

    net_spread = (costs.spread_low, 1.0, costs.spread_high)

    def band(device_seconds: float, network_seconds: float, spread: tuple[float, float, float]) -> SpeedRange:
        low, mid, high = (
            1.0 / (device_seconds / s + network_seconds / n) for s, n in zip(spread, net_spread, strict=True)
        )
        return SpeedRange(low=round(low, 2), mid=round(mid, 2), high=round(high, 2))

    empty = decode_seconds(speed.BENCH_GEN_TOKENS / 2)
    at_context = decode_seconds(max(0, request.context))
    basis = (
        f"{model.version}: fitted to {model.train_rows} published llama-bench runs, per machine; plus "
        f"{workers} RPC worker{'s' if workers != 1 else ''} over {link.label} "
        f"({net.decode_seconds * 1e3:.1f} ms per token on the network)"
    )
    estimate = SpeedEstimate(
        decode_tps=band(empty, net.decode_seconds, model.decode_spread),
        prefill_tps=band(prefill_devices, net.prefill_seconds_per_token, model.prefill_spread),
        decode_tps_at_context=band(at_context, net.decode_seconds, model.decode_spread),
        estimate_basis=basis,
    )
    return ClusterSpeed(
        estimate,
        net,
        link,
        device_decode_seconds=empty / model.decode_spread[1],
        device_prefill_seconds=prefill_devices / model.prefill_spread[1],
    )


def network_risk(cluster: ClusterSpeed, embedding_length: int) -> Risk | None:
    """A note when the network takes a large share of the time, with what the fastest preset link would give."""
    spec = network_spec()
    net = cluster.network
    decode_total = cluster.device_decode_seconds + net.decode_seconds
    prefill_total = cluster.device_prefill_seconds + net.prefill_seconds_per_token
    decode_share = net.decode_seconds / decode_total if decode_total else 0.0
    prefill_share = net.prefill_seconds_per_token / prefill_total if prefill_total else 0.0
    if max(decode_share, prefill_share) < spec.costs.slow_link_share:
        return None
    fastest = max(spec.links.values(), key=lambda link: link.bytes_per_second)
    better = ""
    if fastest.bytes_per_second > cluster.link.bytes_per_second * 1.5:
        quick = network_cost(embedding_length, net.workers, fastest, net.ubatch, spec.costs)
        better = (
            f" Over {fastest.label} it would be about "
            f"{1 / (cluster.device_prefill_seconds + quick.prefill_seconds_per_token):.0f} prompt tokens/s and "
            f"{1 / (cluster.device_decode_seconds + quick.decode_seconds):.1f} tokens/s decoding (middle estimates)."
        )
    return Risk(
        id="rpc.network-bound",
        severity=Severity.INFO,
        title=f"The network takes {max(decode_share, prefill_share):.0%} of the time",
        explanation=(
            f"Between the machines, every token crosses {cluster.link.label} {2 * net.workers} times "
            f"(hidden state in and out of each worker) with a round trip each. That is {decode_share:.0%} of the "
            f"time per generated token and {prefill_share:.0%} of prompt processing, where a whole micro-batch of "
            f"{net.ubatch} tokens crosses at once.{better}"
        ),
        remedy="Use the fastest link the machines share (a direct 10 GbE or USB4/Thunderbolt cable), or give your "
        "measured figures with --link-gbps (iperf3) and --link-latency-ms (ping).",
        source=f"{spec.costs.overhead_source}; {cluster.link.source}",
    )


# --------------------------------------------------------------------------------------------------- commands


def _gib(n: int) -> str:
    return f"{n / GIB:.1f} GiB"


def memory_note(rows: Sequence[DeviceMemory]) -> str:
    """What one machine will hold, device by device, for the note beside its command."""
    parts = []
    for row in rows:
        used = row.total_bytes - row.other_bytes
        cap = f" of {_gib(row.capacity_bytes)}" if row.capacity_bytes else ""
        parts.append(
            f"{row.device}: {_gib(used)}{cap} (weights {_gib(row.weights_bytes)}, KV cache {_gib(row.kv_bytes)}, "
            f"compute {_gib(row.compute_bytes + row.output_bytes)})"
        )
    return "; ".join(parts)


def machine_commands(
    option: OptionPlan,
    endpoints: Sequence[tuple[str, str]],
    link: Link,
    head_label: str = HEAD,
) -> tuple[MachineCommand, ...]:
    """``rpc-server`` on every worker (in ``--rpc`` order) and ``llama-server`` on the head, each with a note."""
    groups = rows_by_machine(option.memory)
    original = {}
    for row in option.memory:
        original.setdefault(row.machine or HEAD, []).append(row)
    out = []
    for label, endpoint in endpoints:
        host, _, port = endpoint.rpartition(":")
        rows = original.get(label, [])
        note = (
            f"Holds {memory_note(rows)}. rpc-server reports this machine's free memory to the head and the head's "
            f"-ts fixes the split, so no -m is needed (it only overrides the reported size and is not enforced). "
            f"-H must be this machine's address on a private network you trust (the RPC server has no "
            f"authentication; never expose it to an open network); -c keeps a local copy of the weights so later "
            f"loads do not send them again."
        )
        out.append(
            MachineCommand(
                machine=label, role="rpc-worker", command=shell_command(rpc_server_argv(host, int(port))), note=note
            )
        )
    head_rows = groups.get(HEAD, [])
    sent = sum(r.weights_bytes for key, rows in original.items() if key != HEAD for r in rows)
    minutes = sent / link.bytes_per_second / 60
    head_note = (
        f"Start it after every rpc-server is listening. Holds {memory_note(head_rows)}. The first load sends "
        f"{sent / 1e9:.0f} GB of weights to the workers over {link.label} (about {minutes:.0f} min). Every value is "
        f"set explicitly: llama.cpp's --fit has been reported to run out of memory with RPC devices "
        f"(llama.cpp issue 21801)."
    )
    out.append(MachineCommand(machine=head_label, role="head", command=option.llama_cpp_command, note=head_note))
    return tuple(out)


# ------------------------------------------------------------------------------------------------ caveats


@cache
def cluster_caveats() -> tuple[Risk, ...]:
    """The risks every RPC cluster carries, each with its source."""
    with resource_path("rpc", "caveats.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return tuple(
        Risk(
            id=str(row["id"]),
            severity=Severity(row["severity"]),
            title=str(row["title"]),
            explanation=" ".join(str(row["explanation"]).split()),
            remedy=row.get("remedy"),
            source=str(row["source"]),
        )
        for row in data["caveat"]
    )


def with_cluster_caveats(risks: Sequence[Risk], extra: Sequence[Risk] = ()) -> tuple[Risk, ...]:
    """The risk engine's risks plus the cluster caveats and ``extra`` (this cluster's own notes), most severe
    first (stable within a severity)."""
    known = {r.id for r in risks}
    merged = [*risks, *(c for c in (*cluster_caveats(), *extra) if c.id not in known)]
    return tuple(sorted(merged, key=lambda r: -r.severity.rank))


# ------------------------------------------------------------------------------------------------ the planner


def complete_cluster_option(
    option: OptionPlan,
    facts: ModelFacts,
    *,
    head: Hardware,
    workers: Sequence[Worker],
    request: MemoryRequest,
    options: PlanOptions,
) -> OptionPlan:
    """An ``rpc_cluster`` option with its speed (devices + network) and the command for every machine (workers in
    ``--rpc`` order, then the head)."""
    link = link_for(options)
    machines: dict[str, Hardware] = {HEAD: head}
    endpoints = []
    for worker in workers:
        machines[worker.label] = worker.hardware
        endpoints.append((worker.label, worker.endpoint))
    speed = cluster_speed(facts, option.memory, machines, link, request)
    commands = machine_commands(option, endpoints, link, head.label or HEAD)
    if speed is None:
        return replace(option, machine_commands=commands)
    est = speed.estimate
    note = network_risk(speed, facts.embedding_length)
    return replace(
        option,
        risks=(*option.risks, note) if note else option.risks,
        machine_commands=commands,
        decode_tps=est.decode_tps,
        prefill_tps=est.prefill_tps,
        decode_tps_at_context=est.decode_tps_at_context,
        estimate_basis=est.estimate_basis,
    )


__all__ = [
    "HEAD",
    "ClusterSpeed",
    "Link",
    "NetworkCost",
    "cluster_caveats",
    "cluster_speed",
    "complete_cluster_option",
    "link_for",
    "link_names",
    "machine_commands",
    "network_cost",
    "network_risk",
    "network_spec",
    "parse_machine_spec",
    "rows_by_machine",
    "with_cluster_caveats",
]
