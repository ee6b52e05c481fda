"""Line charts as PNG with PIL alone (no plotting library in the project's dependencies): one
panel per measure, one line per configuration, a shared legend."""

import math

from PIL import Image, ImageDraw, ImageFont

# Colour-blind-safe qualitative palette (Okabe & Ito).
PALETTE = (
    (0, 0, 0),
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (213, 94, 0),
    (204, 121, 167),
    (0, 114, 178),
    (240, 228, 66),
)
_GRID, _AXIS, _FLOOR = (225, 225, 225), (60, 60, 60), (150, 150, 150)


def nice_ticks(lo, hi, count=5):
    """Round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"cannot place ticks on [{lo}, {hi}]")
    if hi <= lo:
        lo, hi = lo - 0.5 * (abs(lo) or 1), hi + 0.5 * (abs(hi) or 1)
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks = []
    value = first
    while value < hi + step * 0.999:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _label(value):
    return f"{value:g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


def _font(size):
    try:
        return ImageFont.load_default(size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


class _Panel:
    """Maps data to pixels inside one panel's box."""

    def __init__(self, box, xs, ys):
        self.box = box
        self.xticks, self.yticks = nice_ticks(min(xs), max(xs)), nice_ticks(min(ys), max(ys))

    def point(self, x, y):
        left, top, right, bottom = self.box
        x0, x1, y0, y1 = self.xticks[0], self.xticks[-1], self.yticks[0], self.yticks[-1]
        return (
            left + (x - x0) / (x1 - x0) * (right - left),
            bottom - (y - y0) / (y1 - y0) * (bottom - top),
        )


def line_chart(panels, names, *, xlabel, floor_label="floor", width=1400, height=560):
    """PIL image of side-by-side panels.

    panels: [{'title': str, 'series': {name: [(x, y), ...]}, 'floor': y or None, 'xlabel': str
    (optional, else `xlabel`)}]; a 'floor' is drawn as a dashed grey line (e.g. the real-vs-real
    SWD). names: the legend, in order, one colour each; series missing from a panel are not
    drawn.
    """
    if not panels or not names:
        raise ValueError("line_chart needs at least one panel and one series")
    font, small = _font(18), _font(14)
    legend_h = 34 * math.ceil((len(names) + 1) / 3) + 10
    image = Image.new("RGB", (width, height + legend_h), "white")
    draw = ImageDraw.Draw(image)
    pane_w = width // len(panels)
    for i, panel in enumerate(panels):
        points = [p for s in panel["series"].values() for p in s if math.isfinite(p[1])]
        if not points:
            raise ValueError(f"panel {panel['title']!r} has no finite points")
        ys = [p[1] for p in points] + ([panel["floor"]] if panel.get("floor") is not None else [])
        box = (i * pane_w + 80, 50, (i + 1) * pane_w - 30, height - 60)
        pane = _Panel(box, [p[0] for p in points], ys)
        left, top, right, bottom = box
        for y in pane.yticks:
            _, py = pane.point(pane.xticks[0], y)
            draw.line([(left, py), (right, py)], fill=_GRID)
            draw.text((left - 8, py), _label(y), fill=_AXIS, font=small, anchor="rm")
        for x in pane.xticks:
            px, _ = pane.point(x, pane.yticks[0])
            draw.line([(px, top), (px, bottom)], fill=_GRID)
            draw.text((px, bottom + 8), _label(x), fill=_AXIS, font=small, anchor="mt")
        draw.rectangle(box, outline=_AXIS)
        draw.text(
            ((left + right) / 2, top - 14), panel["title"], fill=_AXIS, font=font, anchor="ms"
        )
        draw.text(
            ((left + right) / 2, bottom + 34),
            panel.get("xlabel", xlabel),
            fill=_AXIS,
            font=small,
            anchor="mt",
        )
        if panel.get("floor") is not None:
            _, py = pane.point(pane.xticks[0], panel["floor"])
            for x in range(int(left), int(right), 16):
                draw.line([(x, py), (min(x + 8, right), py)], fill=_FLOOR, width=2)
        for k, name in enumerate(names):
            series = [p for p in panel["series"].get(name, []) if math.isfinite(p[1])]
            xy = [pane.point(x, y) for x, y in series]
            colour = PALETTE[k % len(PALETTE)]
            if len(xy) > 1:
                draw.line(xy, fill=colour, width=3, joint="curve")
            for px, py in xy:
                draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=colour)
    entries = [(name, PALETTE[k % len(PALETTE)], False) for k, name in enumerate(names)]
    if any(p.get("floor") is not None for p in panels):
        entries.append((floor_label, _FLOOR, True))
    for k, (name, colour, dashed) in enumerate(entries):
        x, y = 80 + (k % 3) * (width - 120) // 3, height + 8 + (k // 3) * 34 + 10
        for dx in range(0, 36, 16) if dashed else (0,):
            draw.line(
                [(x + dx, y), (x + (dx + 8 if dashed else 36), y)],
                fill=colour,
                width=2 if dashed else 4,
            )
        draw.text((x + 46, y), name, fill=_AXIS, font=small, anchor="lm")
    return image
