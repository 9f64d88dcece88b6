"""The drift report as one self-contained HTML page: the verdict, the figures, and overlaid histograms (SVG)."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from quarry.evaluation.drift import DriftReport

__all__ = ["drift_html"]

_STYLE = """body{font:14px system-ui,sans-serif;margin:2em;max-width:960px;color:#222}
table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}
.bad{color:#b00020;font-weight:bold}.ok{color:#1b7f3b;font-weight:bold}figure{display:inline-block;margin:1em}
figcaption{font-size:12px;color:#555}"""


def drift_html(report: DriftReport, title: str = "Quarry drift report") -> str:
    verdict = '<span class="bad">drift detected</span>' if report.drifted else '<span class="ok">no drift</span>'
    rows = [
        ("traces (reference / current)", f"{report.reference} / {report.current}"),
        ("query embedding: mean cosine distance", f"{report.embedding_distance:.4f}"),
        ("query embedding: MMD² (p)", f"{report.mmd2:.5f} (p = {report.mmd_p:.3f})"),
        *((f"PSI {name}", f"{value:.3f}") for name, value in report.psi.items()),
        *((f"{name} rate", f"{a:.3f} → {b:.3f}") for name, (a, b) in report.rates.items()),
        ("out of domain (best cosine under the reference 5th percentile)",
         f"{report.out_of_domain[0]:.3f} → {report.out_of_domain[1]:.3f}"),
        ("new frequent terms", ", ".join(f"{t} ({n})" for t, n in report.new_terms) or "none"),
    ]  # fmt: skip
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    charts = "".join(
        _histogram(name, ref, cur) for name, (ref, cur) in report.series.items() if len(ref) >= 2 and len(cur) >= 2
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1><p>{verdict}</p>"
        f"<table>{table}</table><h2>Distributions (grey: reference, blue: current)</h2>{charts}</body></html>\n"
    )


def _histogram(name: str, reference: Sequence[float], current: Sequence[float], bins: int = 20) -> str:
    low, high = min(min(reference), min(current)), max(max(reference), max(current))
    edges = np.linspace(low, high if high > low else low + 1, bins + 1)
    ref = np.histogram(reference, edges)[0] / len(reference)
    cur = np.histogram(current, edges)[0] / len(current)
    top = float(max(ref.max(), cur.max())) or 1.0
    width, height, bar = 320, 140, 320 / bins
    shapes = []
    for i, (a, b) in enumerate(zip(ref, cur, strict=True)):
        for share, colour, offset in ((a, "#9e9e9e", 0.0), (b, "#1f6feb", bar / 2)):
            h = share / top * (height - 20)
            shapes.append(f"<rect x='{i * bar + offset:.1f}' y='{height - h:.1f}' width='{bar / 2 - 1:.1f}' "
                          f"height='{h:.1f}' fill='{colour}'/>")  # fmt: skip
    axis = f"<text x='0' y='12' font-size='10'>{low:.3g} … {high:.3g}</text>"
    svg = f"<svg width='{width}' height='{height}' role='img'>{axis}{''.join(shapes)}</svg>"
    return f"<figure>{svg}<figcaption>{html.escape(name)}</figcaption></figure>"
