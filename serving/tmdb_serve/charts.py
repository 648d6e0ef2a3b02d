"""Server-side SVG charts: no CDN, no JavaScript, so the results page works offline.

Each function returns ``Markup`` with every label escaped here, so the
autoescaping template can embed it as is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from markupsafe import Markup, escape

WIDTH = 480
HEIGHT = 220
PAD_LEFT = 40
PAD_BOTTOM = 28
PAD_TOP = 24
PALETTE = ("#2f6db5", "#e07b39", "#5a9e4b", "#8c6bb1", "#c0504d")


def _svg(body: list[str], *, title: str, height: int = HEIGHT) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<text x="{WIDTH / 2}" y="15" text-anchor="middle" class="chart-title">{escape(title)}</text>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _empty(title: str, message: str) -> Markup:
    return _svg(
        [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">{escape(message)}</text>'],
        title=title,
    )


def histogram(
    values: Sequence[float] | np.ndarray,
    *,
    title: str,
    lo: float = 0.0,
    hi: float = 10.0,
    bins: int = 20,
) -> Markup:
    """Bars of counts over equal-width bins between ``lo`` and ``hi``."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return _empty(title, "no predictions")
    counts, edges = np.histogram(np.clip(data, lo, hi), bins=bins, range=(lo, hi))
    plot_w = WIDTH - PAD_LEFT - 10
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    top = max(int(counts.max()), 1)
    bar_w = plot_w / bins
    body = [
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{PAD_LEFT + plot_w}" '
        f'y2="{PAD_TOP + plot_h}" stroke="#555"/>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 8}" text-anchor="end" class="tick">{top}</text>',
    ]
    for i, count in enumerate(counts):
        h = plot_h * count / top
        x = PAD_LEFT + i * bar_w
        body.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{PAD_TOP + plot_h - h:.1f}" '
            f'width="{bar_w - 2:.1f}" height="{h:.1f}" fill="{PALETTE[0]}">'
            f"<title>{edges[i]:.1f}-{edges[i + 1]:.1f}: {count}</title></rect>"
        )
    for tick in range(int(lo), int(hi) + 1, 2):
        x = PAD_LEFT + plot_w * (tick - lo) / (hi - lo)
        body.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 10}" text-anchor="middle" class="tick">{tick}</text>'
        )
    return _svg(body, title=title)


def hbar(items: Sequence[tuple[str, float]], *, title: str, limit: int = 12) -> Markup:
    """Horizontal bars, largest first (feature importance)."""
    ranked = sorted(items, key=lambda item: item[1], reverse=True)[:limit]
    if not ranked:
        return _empty(title, "not available for this model")
    row = 16
    height = PAD_TOP + row * len(ranked) + 8
    label_w = 170
    plot_w = WIDTH - label_w - 50
    top = max(value for _, value in ranked) or 1.0
    body = []
    for i, (label, value) in enumerate(ranked):
        y = PAD_TOP + i * row
        w = max(plot_w * value / top, 0.0)
        short = label if len(label) <= 28 else label[:27] + "…"
        body.append(
            f'<text x="{label_w - 6}" y="{y + 11}" text-anchor="end" class="tick">'
            f"{escape(short)}</text>"
            f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 4}" '
            f'fill="{PALETTE[1]}"><title>{escape(label)}: {value:.4g}</title></rect>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 11}" class="tick">{value:.3g}</text>'
        )
    return _svg(body, title=title, height=height)


def grouped_bars(
    categories: Sequence[str], series: dict[str, Sequence[float | None]], *, title: str
) -> Markup:
    """One group of bars per category (model version), one bar per series (RMSE of each)."""
    if not categories or not series:
        return _empty(title, "no registered versions")
    values = [v for s in series.values() for v in s if v is not None and np.isfinite(v)]
    top = max(values) if values else 1.0
    plot_w = WIDTH - PAD_LEFT - 10
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM - 14
    group_w = plot_w / len(categories)
    bar_w = max(group_w * 0.8 / len(series), 1.0)
    body = [
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{PAD_LEFT + plot_w}" '
        f'y2="{PAD_TOP + plot_h}" stroke="#555"/>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 8}" text-anchor="end" class="tick">{top:.2f}</text>',
    ]
    for g, category in enumerate(categories):
        x0 = PAD_LEFT + g * group_w + group_w * 0.1
        for s, (name, points) in enumerate(series.items()):
            value = points[g]
            if value is None or not np.isfinite(value):
                continue
            h = plot_h * value / top if top else 0
            body.append(
                f'<rect class="bar" x="{x0 + s * bar_w:.1f}" y="{PAD_TOP + plot_h - h:.1f}" '
                f'width="{bar_w - 1:.1f}" height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                f"<title>{escape(category)} {escape(name)}: {value:.4f}</title></rect>"
            )
        label = category if len(category) <= 16 else "…" + category[-15:]
        body.append(
            f'<text x="{x0 + group_w * 0.4:.1f}" y="{PAD_TOP + plot_h + 12}" '
            f'text-anchor="middle" class="tick">{escape(label)}</text>'
        )
    for s, name in enumerate(series):
        x = PAD_LEFT + s * 110
        body.append(
            f'<rect x="{x}" y="{HEIGHT - 12}" width="10" height="10" '
            f'fill="{PALETTE[s % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="{HEIGHT - 3}" class="tick">{escape(name)}</text>'
        )
    return _svg(body, title=title)


# --- the monitoring page (issue #12) ---------------------------------------------------


def lines(
    categories: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    title: str,
    levels: dict[str, float] | None = None,
) -> Markup:
    """One line of points per series over the categories (logical dates), and dashed levels.

    ``levels`` are horizontal reference lines (a version's holdout RMSE), drawn in the
    colour of the series of the same position; a missing point breaks no line, it is
    simply not drawn.
    """
    levels = levels or {}
    values = [v for s in series.values() for v in s if v is not None and np.isfinite(v)]
    values += [v for v in levels.values() if v is not None and np.isfinite(v)]
    if not categories or not values:
        return _empty(title, "no realized figures yet")
    top = max(values) * 1.1 or 1.0
    plot_w = WIDTH - PAD_LEFT - 10
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM - 14
    step = plot_w / max(len(categories), 1)

    def x(i: int) -> float:
        return PAD_LEFT + step * (i + 0.5)

    def y(value: float) -> float:
        return PAD_TOP + plot_h - plot_h * value / top

    body = [
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{PAD_LEFT + plot_w}" '
        f'y2="{PAD_TOP + plot_h}" stroke="#555"/>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 8}" text-anchor="end" class="tick">{top:.2f}</text>',
    ]
    for s, (name, level) in enumerate(levels.items()):
        if level is None or not np.isfinite(level):
            continue
        body.append(
            f'<line class="level" x1="{PAD_LEFT}" y1="{y(level):.1f}" x2="{PAD_LEFT + plot_w}" '
            f'y2="{y(level):.1f}" stroke="{PALETTE[(s + 1) % len(PALETTE)]}" stroke-dasharray="5,4">'
            f"<title>{escape(name)}: {level:.4f}</title></line>"
        )
    for s, (name, points) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        drawn = [(x(i), y(v), v, categories[i]) for i, v in enumerate(points)
                 if v is not None and np.isfinite(v)]
        if len(drawn) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in drawn)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for px, py, v, category in drawn:
            body.append(
                f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="4" fill="{colour}">'
                f"<title>{escape(category)} {escape(name)}: {v:.4f}</title></circle>"
            )
    every = max(1, len(categories) // 6)
    for i, category in enumerate(categories):
        if i % every == 0:
            body.append(f'<text x="{x(i):.1f}" y="{PAD_TOP + plot_h + 12}" text-anchor="middle" '
                        f'class="tick">{escape(category)}</text>')
    legend = [*series, *levels]
    for s, name in enumerate(legend[:4]):
        colour = PALETTE[(s if s < len(series) else s - len(series) + 1) % len(PALETTE)]
        body.append(
            f'<rect x="{PAD_LEFT + s * 110}" y="{HEIGHT - 12}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{PAD_LEFT + s * 110 + 14}" y="{HEIGHT - 3}" class="tick">'
            f"{escape(name if len(name) <= 16 else name[:15] + '…')}</text>"
        )
    return _svg(body, title=title)


def _heat(ratio: float | None) -> str:
    """White at 0, amber at the threshold (ratio 1), red from twice the threshold."""
    if ratio is None or not np.isfinite(ratio):
        return "#eeeeee"
    r = min(max(ratio, 0.0), 2.0)
    if r <= 1.0:
        red, green, blue = 255, int(255 - 55 * r), int(255 - 200 * r)
    else:
        red, green, blue = int(255 - 55 * (r - 1)), int(200 - 170 * (r - 1)), int(55 - 25 * (r - 1))
    return f"#{red:02x}{green:02x}{blue:02x}"


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    cells: dict[tuple[str, str], tuple[float | None, str]],
    *,
    title: str,
) -> Markup:
    """A grid of rows (input columns) by columns (partitions), coloured by statistic/threshold.

    ``cells[(row, column)]`` is (ratio, tooltip); a ratio above 1 is past the threshold
    and the cell is outlined.
    """
    if not rows or not columns:
        return _empty(title, "no inference partition compared yet")
    label_w, cell_h = 150, 16
    cell_w = max(min((WIDTH - label_w - 10) / len(columns), 60.0), 6.0)
    width = max(int(label_w + cell_w * len(columns) + 10), WIDTH)
    height = PAD_TOP + cell_h * len(rows) + 40
    body = []
    for r, row in enumerate(rows):
        y0 = PAD_TOP + r * cell_h
        body.append(f'<text x="{label_w - 6}" y="{y0 + 12}" text-anchor="end" class="tick">'
                    f"{escape(row)}</text>")
        for c, column in enumerate(columns):
            ratio, tip = cells.get((row, column), (None, "not compared"))
            flagged = ratio is not None and ratio > 1
            outline = ' stroke="#900" stroke-width="1.5"' if flagged else ' stroke="#fff"'
            body.append(
                f'<rect class="cell{" flagged" if flagged else ""}" x="{label_w + c * cell_w:.1f}" '
                f'y="{y0}" width="{cell_w:.1f}" height="{cell_h}" fill="{_heat(ratio)}"{outline}>'
                f"<title>{escape(row)} @ {escape(column)}: {escape(tip)}</title></rect>"
            )
    every = max(1, int(len(columns) // max((WIDTH - label_w) // 70, 1)) + 1) if len(columns) > 6 else 1
    for c, column in enumerate(columns):
        if c % every == 0:
            body.append(
                f'<text x="{label_w + (c + 0.5) * cell_w:.1f}" y="{PAD_TOP + cell_h * len(rows) + 14}" '
                f'text-anchor="middle" class="tick">{escape(column)}</text>'
            )
    body.append(f'<text x="{label_w}" y="{height - 6}" class="tick">colour: statistic / threshold '
                f"(amber = at the threshold, red = twice it; outlined = flagged)</text>")
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<text x="{width / 2}" y="15" text-anchor="middle" class="chart-title">{escape(title)}</text>'
    )
    return Markup(head + "".join(body) + "</svg>")


# --- explanations (issue #13) ------------------------------------------------------------


def contributions(items: Sequence[tuple[str, float]], *, title: str, base: float | None = None) -> Markup:
    """Signed horizontal bars around a zero line: each raw input's push up or down.

    Largest magnitude first; positive bars (raising the rating) go right in blue,
    negative ones left in orange. ``base`` is named in the footer.
    """
    ranked = sorted(items, key=lambda item: abs(item[1]), reverse=True)
    if not ranked:
        return _empty(title, "no explanation for this model")
    row = 18
    height = PAD_TOP + row * len(ranked) + 26
    label_w = 150
    plot_w = WIDTH - label_w - 20
    zero = label_w + plot_w / 2
    top = max(abs(value) for _, value in ranked) or 1.0
    body = [f'<line x1="{zero:.1f}" y1="{PAD_TOP - 2}" x2="{zero:.1f}" '
            f'y2="{PAD_TOP + row * len(ranked)}" stroke="#555"/>']
    for i, (label, value) in enumerate(ranked):
        y = PAD_TOP + i * row
        w = (plot_w / 2 - 40) * abs(value) / top
        x = zero if value >= 0 else zero - w
        colour = PALETTE[0] if value >= 0 else PALETTE[1]
        text_x = zero + w + 4 if value >= 0 else zero - w - 4
        anchor = "start" if value >= 0 else "end"
        body.append(
            f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end" class="tick">{escape(label)}</text>'
            f'<rect class="bar contribution" data-input="{escape(label)}" x="{x:.1f}" y="{y + 2}" '
            f'width="{w:.1f}" height="{row - 4}" fill="{colour}">'
            f"<title>{escape(label)}: {value:+.4f}</title></rect>"
            f'<text x="{text_x:.1f}" y="{y + 12}" text-anchor="{anchor}" class="tick">{value:+.3f}</text>'
        )
    if base is not None:
        body.append(f'<text x="{WIDTH / 2}" y="{height - 8}" text-anchor="middle" class="tick">'
                    f"base value {base:.3f} + these contributions = the raw prediction</text>")
    return _svg(body, title=title, height=height)
