"""The memory chart as inline SVG: one stacked bar per device, against its capacity."""

from __future__ import annotations

from html import escape

from advisor import format as fmt
from advisor.plan.types import OptionPlan

#: (label, colour) per stacked segment, in drawing order. Colours work on white paper and dark screens alike.
SEGMENTS = (
    ("Weights", "#4e79a7"),
    ("KV cache", "#f28e2b"),
    ("Compute", "#59a14f"),
    ("Reserve", "#9c9c9c"),
)


def memory_chart_svg(option: OptionPlan, *, width: int = 640) -> str:
    devices = option.memory
    bar_h, gap, label_w, top = 22, 14, 150, 28
    height = top + len(devices) * (bar_h + gap) + 30
    plot_w = width - label_w - 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Memory per device for {escape(option.quant)}" '
        'font-family="sans-serif" font-size="12">'
    ]
    x = label_w
    for label, colour in SEGMENTS:
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="15">{label}</text>')
        x += 24 + 7 * len(label)
    for i, d in enumerate(devices):
        y = top + i * (bar_h + gap)
        parts.append(f'<text x="4" y="{y + 15}">{escape(d.device)}</text>')
        # Each bar is scaled to its own device, so a 24 GiB GPU stays readable beside 256 GiB of RAM.
        scale_max = max(d.total_bytes, d.capacity_bytes or 0, 1)
        values = (d.weights_bytes, d.kv_bytes, d.compute_bytes + d.output_bytes, d.other_bytes)
        x = float(label_w)
        for (label, colour), v in zip(SEGMENTS, values, strict=True):
            w = plot_w * v / scale_max
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                    f"<title>{label}: {fmt.mem_size(v)}</title></rect>"
                )
            x += w
        if d.capacity_bytes:
            cx = label_w + plot_w * d.capacity_bytes / scale_max
            over = d.total_bytes > d.capacity_bytes
            parts.append(
                f'<line x1="{cx:.1f}" y1="{y - 4}" x2="{cx:.1f}" y2="{y + bar_h + 4}" '
                f'stroke="{"#c0392b" if over else "#222"}" stroke-width="2"/>'
            )
        caption = f"{fmt.mem_size(d.total_bytes)} of {fmt.mem_size(d.capacity_bytes)}"
        parts.append(f'<text x="{label_w}" y="{y + bar_h + 12}" font-size="10">{caption}</text>')
    parts.append("</svg>")
    return "".join(parts)
