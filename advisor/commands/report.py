"""``rigfit report``: a hardware report, optionally with a plan, as JSON, Markdown, HTML or PDF."""

from __future__ import annotations

import argparse
import sys

from advisor.report.build import FORMATS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="export a hardware report (and a plan) as json, md, html or pdf",
        description="Write a report of this machine (or of a hardware file), with a model's plan if --model is given.",
    )
    p.add_argument("--format", choices=FORMATS, help="default: from the -o file name, else md")
    p.add_argument("-o", "--output", help="file to write (default: standard output; required for pdf)")
    p.add_argument("--model", help="catalog id, Hub repo id or local .gguf to plan")
    p.add_argument("--quant", help="the option to detail (default: the recommended one)")
    p.add_argument("--hardware", action="append", help="hardware file or JSON report instead of probing")
    p.add_argument("--context", type=int, help="context length to plan for")
    p.add_argument(
        "--include-identifying", action="store_true", help="keep hostname, user name and home paths in the report"
    )
    p.add_argument("--no-bandwidth", action="store_true", help="skip the RAM bandwidth measurement when probing")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from advisor.errors import RigfitError
    from advisor.report.build import build_report
    from advisor.report.render import format_for_path, render, write_report

    fmt = args.format or (format_for_path(args.output) if args.output else None) or "md"
    if fmt == "pdf" and not args.output:
        raise RigfitError("A PDF report needs an output file.", hint="Add -o report.pdf.")
    if args.hardware:
        from advisor.hardware.types import load_hardware_file

        machines = [load_hardware_file(path) for path in args.hardware]
    else:
        from advisor.hardware.probe import probe

        machines = [probe(measure_bandwidth=not args.no_bandwidth)]
    plan = None
    if args.model:
        from advisor.model.hub import token as hub_token
        from advisor.model.resolve import resolve_model
        from advisor.plan.planner import plan as make_plan
        from advisor.plan.types import PlanOptions

        model = resolve_model(args.model)
        plan = make_plan(model, machines if len(machines) > 1 else machines[0], PlanOptions(context=args.context))
        if args.quant:
            model.option(args.quant)  # an unknown quant is a clear error, not a silent fallback
        secrets = tuple(t for t in (hub_token(),) if t)
    else:
        secrets = ()
    report = build_report(
        machines[0], plan, quant=args.quant, include_identifying=args.include_identifying, secrets=secrets
    )
    if args.output:
        path = write_report(report, args.output, fmt)
        print(f"Wrote {fmt} report to {path}")
    else:
        sys.stdout.write(render(report, fmt).decode())
    return 0
