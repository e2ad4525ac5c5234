"""The risk rules engine: declarative conditions in resources/rules/*.toml, evaluated over named facts.

Code knows only generic operators (compare, contain, all/any/not) and how to fill ``{fact}`` placeholders; what
is risky, how severe, and why lives in the data files with a source for each rule. The planner calls
``evaluate_risks`` for every option, so rules are parsed and checked once per process and each call only
computes the facts the loaded rules mention.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from advisor.plan.types import Risk, Severity
from advisor.resources import resource_path
from advisor.risks.facts import FACTS, FactInputs, RiskContext, compute_facts
from advisor.risks.licences import LicenceBase, identify_licence, load_licence_base
from advisor.risks.versions import Version, parse_version

__all__ = ["RiskContext", "RuleDataError", "RuleSet", "evaluate_risks", "load_rules"]

Facts = Mapping[str, Any]
Condition = Callable[[Facts], bool]

_COMPARISONS = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}
_SET_OPS = ("contains_any", "contains_all", "contains_none")
_OPERATORS = frozenset({"present", "eq", "ne", "in", "not_in", *_COMPARISONS, *_SET_OPS})
_RULE_KEYS = frozenset({"id", "severity", "when", "title", "explanation", "remedy", "source", "supersedes"})
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)(?::([^{}]+))?\}")


class RuleDataError(ValueError):
    """A rule file is malformed: a bug in Rigfit's bundled data, caught by the tests and at load."""


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    condition: Condition
    title: str
    explanation: str
    remedy: str | None
    source: str
    supersedes: tuple[str, ...]
    facts_used: frozenset[str]
    order: int


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    #: nvcc component version -> toolkit release ("13.2.78" -> "13.2.1"), from cuda.toml.
    nvcc_releases: Mapping[str, str]
    facts_used: frozenset[str]


# --- values ----------------------------------------------------------------------------------------------


def _coerce(fact_value: Any, operand: Any) -> Any:
    """Make a literal comparable with a fact: versions parse as versions, everything else stays."""
    if isinstance(fact_value, Version) and not isinstance(operand, Version):
        return parse_version(operand)
    return operand


def _compare(op: str, value: Any, operand: Any) -> bool:
    operand = _coerce(value, operand)
    if value is None or operand is None:
        return False
    if isinstance(value, bool) or isinstance(operand, bool):
        return False  # ordering booleans is a rule bug; never true
    try:
        return bool(_COMPARISONS[op](value, operand))
    except TypeError:
        return False


# --- compiling conditions --------------------------------------------------------------------------------


def _operand(raw: Any, where: str, used: set[str]) -> Callable[[Facts], Any]:
    """A literal, or ``{fact = "x", times = k, plus = c}``: another fact scaled, for 'free < size + margin'."""
    if isinstance(raw, dict):
        extra = set(raw) - {"fact", "times", "plus"}
        name = raw.get("fact")
        if extra or not isinstance(name, str):
            raise RuleDataError(f"{where}: an operand table takes `fact`, `times`, `plus`")
        if name not in FACTS:
            raise RuleDataError(f"{where}: unknown fact {name!r}")
        times, plus = raw.get("times", 1), raw.get("plus", 0)
        if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in (times, plus)):
            raise RuleDataError(f"{where}: `times` and `plus` must be numbers")
        used.add(name)
        if "times" not in raw and "plus" not in raw:
            return lambda facts: facts.get(name)

        def scaled(facts: Facts) -> Any:
            value = facts.get(name)
            if value is None or isinstance(value, bool) or not isinstance(value, int | float):
                return None
            return value * times + plus

        return scaled
    return lambda _facts: raw


def _clause(node: dict, where: str, used: set[str]) -> Condition:
    name = node.get("fact")
    if not isinstance(name, str) or name not in FACTS:
        raise RuleDataError(f"{where}: unknown fact {name!r}")
    used.add(name)
    ops = {k: v for k, v in node.items() if k != "fact"}
    if not ops:
        raise RuleDataError(f"{where}: clause on {name!r} has no operator")
    unknown = set(ops) - _OPERATORS
    if unknown:
        raise RuleDataError(f"{where}: unknown operator(s) {', '.join(sorted(unknown))}")
    tests: list[Condition] = []
    for op, raw in ops.items():
        tests.append(_one_test(name, op, raw, f"{where} {name} {op}", used))
    return lambda facts: all(test(facts) for test in tests)


def _one_test(name: str, op: str, raw: Any, where: str, used: set[str]) -> Condition:
    if op == "present":
        if not isinstance(raw, bool):
            raise RuleDataError(f"{where}: `present` takes true or false")
        return lambda facts: (facts.get(name) is not None) == raw
    if op in ("eq", "ne"):
        want_equal = op == "eq"

        def equality(facts: Facts) -> bool:
            value = facts.get(name)
            if value is None:
                return False
            return (value == _coerce(value, raw)) == want_equal

        return equality
    if op in ("in", "not_in"):
        if not isinstance(raw, list):
            raise RuleDataError(f"{where}: `{op}` takes a list")
        inside = op == "in"

        def membership(facts: Facts) -> bool:
            value = facts.get(name)
            if value is None:
                return False
            return any(value == _coerce(value, item) for item in raw) == inside

        return membership
    if op in _SET_OPS:
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise RuleDataError(f"{where}: `{op}` takes a list of strings")
        wanted = frozenset(x.lower() for x in raw)

        def contains(facts: Facts) -> bool:
            value = facts.get(name)
            if value is None:
                return False
            have = frozenset(str(x).lower() for x in value)
            if op == "contains_any":
                return bool(have & wanted)
            if op == "contains_all":
                return wanted <= have
            return not (have & wanted)

        return contains
    operand = _operand(raw, where, used)
    return lambda facts: _compare(op, facts.get(name), operand(facts))


def compile_condition(node: Any, where: str, used: set[str]) -> Condition:
    """``{all=[..]}``, ``{any=[..]}``, ``{not={..}}`` or a clause ``{fact="x", <op>=<operand>, ...}``."""
    if not isinstance(node, dict):
        raise RuleDataError(f"{where}: a condition must be a table")
    combinators = {"all", "any", "not"} & set(node)
    if combinators:
        if len(node) != 1:
            raise RuleDataError(f"{where}: `{next(iter(combinators))}` must stand alone in its table")
        key, value = next(iter(node.items()))
        if key == "not":
            inner = compile_condition(value, f"{where}.not", used)
            return lambda facts: not inner(facts)
        if not isinstance(value, list) or not value:
            raise RuleDataError(f"{where}: `{key}` takes a non-empty list")
        parts = [compile_condition(v, f"{where}.{key}[{i}]", used) for i, v in enumerate(value)]
        if key == "all":
            return lambda facts: all(p(facts) for p in parts)
        return lambda facts: any(p(facts) for p in parts)
    return _clause(node, where, used)


# --- templates -------------------------------------------------------------------------------------------


def _speed_text(value: float) -> str:
    if value >= 10:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}"


def format_value(value: Any, spec: str | None) -> str:
    """One placeholder's text. Specs: gib, gb, pct, tps, list, or any Python format spec."""
    if value is None:
        return "unknown"
    if spec == "gib" and isinstance(value, int | float):
        return f"{value / 2**30:.1f} GiB"
    if spec == "gb" and isinstance(value, int | float):
        return f"{value / 1e9:.1f} GB"
    if spec == "pct" and isinstance(value, int | float):
        return f"{value * 100:.0f}%"
    if spec == "tps" and isinstance(value, int | float) and math.isfinite(value):
        return _speed_text(float(value))
    if isinstance(value, frozenset | set | list | tuple):
        return ", ".join(sorted(str(v) for v in value)) or "none"
    if spec and spec != "list":
        try:
            return format(value, spec)
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_OPTIONAL = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)


def _fill(template: str, facts: Facts) -> str:
    return _PLACEHOLDER.sub(lambda m: format_value(facts.get(m.group(1)), m.group(2)), template)


def render(template: str, facts: Facts) -> str:
    """Fill ``{fact}`` placeholders; a ``[[...]]`` segment is dropped when any fact inside it is unknown."""

    def optional(m: re.Match[str]) -> str:
        inner = m.group(1)
        if any(facts.get(p.group(1)) is None for p in _PLACEHOLDER.finditer(inner)):
            return ""
        return _fill(inner, facts)

    return _fill(_OPTIONAL.sub(optional, template), facts)


def _template_facts(text: str, where: str) -> set[str]:
    names = {m.group(1) for m in _PLACEHOLDER.finditer(text)}
    unknown = names - set(FACTS)
    if unknown:
        raise RuleDataError(f"{where}: unknown fact(s) in text: {', '.join(sorted(unknown))}")
    return names


# --- loading ---------------------------------------------------------------------------------------------


def parse_rules(documents: list[tuple[str, dict]]) -> RuleSet:
    """Check and compile rule documents, given as (file name, parsed TOML) in evaluation order."""
    from advisor.hardware.specs import nvcc_versions

    rules: list[Rule] = []
    seen: set[str] = set()
    for file_name, data in documents:
        for j, entry in enumerate(data.get("rule", [])):
            rules.append(_parse_rule(entry, f"{file_name} rule #{j + 1}", len(rules), seen))
    for rule in rules:
        missing = set(rule.supersedes) - seen
        if missing:
            raise RuleDataError(f"rule {rule.id!r}: supersedes unknown rule(s) {', '.join(sorted(missing))}")
    used = frozenset().union(*(r.facts_used for r in rules)) if rules else frozenset()
    # nvcc's own version -> toolkit release: one table, resources/specs/nvcc.toml, shared with the probe.
    return RuleSet(rules=tuple(rules), nvcc_releases=nvcc_versions(), facts_used=used)


def _parse_rule(entry: dict, where: str, order: int, seen: set[str]) -> Rule:
    if not isinstance(entry, dict):
        raise RuleDataError(f"{where}: a rule must be a table")
    rid = entry.get("id")
    if not isinstance(rid, str) or not rid:
        raise RuleDataError(f"{where}: `id` is required")
    where = f"{where} ({rid})"
    if rid in seen:
        raise RuleDataError(f"{where}: duplicate id")
    seen.add(rid)
    extra = set(entry) - _RULE_KEYS
    if extra:
        raise RuleDataError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
    try:
        severity = Severity(entry.get("severity"))
    except ValueError as exc:
        raise RuleDataError(f"{where}: severity must be info, warning or critical") from exc
    texts = {}
    for key in ("title", "explanation", "source"):
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise RuleDataError(f"{where}: `{key}` is required")
        texts[key] = value.strip()
    remedy = entry.get("remedy")
    if remedy is not None and not isinstance(remedy, str):
        raise RuleDataError(f"{where}: `remedy` must be text")
    supersedes = entry.get("supersedes", [])
    if not isinstance(supersedes, list) or not all(isinstance(s, str) for s in supersedes):
        raise RuleDataError(f"{where}: `supersedes` takes a list of rule ids")
    if "when" not in entry:
        raise RuleDataError(f"{where}: `when` is required")
    used: set[str] = set()
    condition = compile_condition(entry["when"], f"{where} when", used)
    for key, value in (*texts.items(), ("remedy", remedy or "")):
        used |= _template_facts(value, f"{where} {key}")
    return Rule(
        id=rid,
        severity=severity,
        condition=condition,
        title=texts["title"],
        explanation=texts["explanation"],
        remedy=remedy.strip() if remedy else None,
        source=texts["source"],
        supersedes=tuple(supersedes),
        facts_used=frozenset(used),
        order=order,
    )


def read_rule_files(folder: Path) -> list[tuple[str, dict]]:
    documents = []
    for path in sorted(folder.glob("*.toml")):
        try:
            with path.open("rb") as fh:
                documents.append((path.name, tomllib.load(fh)))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RuleDataError(f"{path}: {exc}") from exc
    return documents


@cache
def load_rules(folder: Path | None = None) -> RuleSet:
    """The bundled rules, parsed and checked once per process."""
    return parse_rules(read_rule_files(folder or resource_path("rules")))


# --- evaluating ------------------------------------------------------------------------------------------


def evaluate_rules(ruleset: RuleSet, facts: Facts) -> tuple[Risk, ...]:
    """Fired rules as risks, superseded ones dropped, most severe first (file order within a severity)."""
    fired = [rule for rule in ruleset.rules if rule.condition(facts)]
    dropped = {sid for rule in fired for sid in rule.supersedes}
    kept = sorted((r for r in fired if r.id not in dropped), key=lambda r: (-r.severity.rank, r.order))
    return tuple(
        Risk(
            id=r.id,
            severity=r.severity,
            title=render(r.title, facts),
            explanation=render(r.explanation, facts),
            remedy=render(r.remedy, facts) if r.remedy else None,
            source=render(r.source, facts),
        )
        for r in kept
    )


def facts_for(ctx: RiskContext, ruleset: RuleSet | None = None, kb: LicenceBase | None = None) -> dict[str, Any]:
    """Every fact for ``ctx`` (for tests, debugging and ``--explain`` style output)."""
    ruleset = ruleset or load_rules()
    inputs = FactInputs(
        ctx=ctx, licence=identify_licence(ctx.model, kb or load_licence_base()), nvcc_releases=ruleset.nvcc_releases
    )
    return compute_facts(inputs)


def evaluate_risks(ctx: RiskContext, ruleset: RuleSet | None = None) -> tuple[Risk, ...]:
    """The risks for one option on one machine, most severe first. Pure: same context, same answer."""
    ruleset = ruleset or load_rules()
    inputs = FactInputs(ctx=ctx, licence=identify_licence(ctx.model), nvcc_releases=ruleset.nvcc_releases)
    return evaluate_rules(ruleset, compute_facts(inputs, ruleset.facts_used))
