"""The report page's charts as inline SVG, drawn with matplotlib's SVG backend (no pyplot, no GUI).

Text stays text (`svg.fonttype: none`: the browser's sans-serif, no embedded or external font)
and ids come from a fixed salt per chart (`svg.hashsalt`), so one version always renders to the
same bytes and several charts on one page never share an id. matplotlib's settings are global;
`render` holds a lock around each figure so concurrent reports cannot mix them.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Mapping

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from app.ml.curves import Curves

BLOCKED = "#c0392b"
BILLED = "#2471a3"
GREY = "#7f8c8d"
STYLE = {"svg.fonttype": "none", "font.family": "sans-serif", "font.size": 9, "axes.spines.top": False,
         "axes.spines.right": False, "axes.grid": True, "grid.color": "#e5e5e5", "grid.linewidth": 0.6}
_LOCK = threading.Lock()
_PROLOGUE = re.compile(rb"^.*?(?=<svg)", re.S)
_METADATA = re.compile(rb"\s*<metadata>.*?</metadata>", re.S)


def render(name: str, draw: Callable[[Axes], None], size: tuple[float, float] = (5.2, 3.6)) -> str:
    """One chart as an `<svg>` element (the XML prologue and DOCTYPE removed)."""
    with _LOCK, matplotlib.rc_context(STYLE | {"svg.hashsalt": f"creditgate-{name}"}):
        figure = Figure(figsize=size, layout="constrained")
        draw(figure.add_subplot())
        out = io.BytesIO()
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return _METADATA.sub(b"", _PROLOGUE.sub(b"", out.getvalue(), count=1), count=1).decode()


def roc(curves: Curves) -> str:
    def draw(ax: Axes) -> None:
        ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=0.8, label="chance")
        if curves.roc:
            fpr, tpr, _ = zip(*curves.roc, strict=True)
            ax.plot(fpr, tpr, color=BLOCKED, linewidth=1.6, label=f"model (AUC {_num(curves.roc_auc)})")
        _unit(ax, "share of billed orders blocked (false-positive rate)", "share of blocked orders caught (recall)")
        ax.legend(loc="lower right", frameon=False)
    return render("roc", draw)


def precision_recall(curves: Curves) -> str:
    def draw(ax: Axes) -> None:
        base = curves.blocked / curves.orders
        ax.axhline(base, color=GREY, linestyle="--", linewidth=0.8, label=f"block rate {base:.1%}")
        if curves.pr:
            recall, precision, _ = zip(*curves.pr, strict=True)
            ax.step(recall, precision, where="post", color=BLOCKED, linewidth=1.6,
                    label=f"model (average precision {_num(curves.pr_auc)})")
        _unit(ax, "recall (share of blocked orders caught)", "precision (blocked orders among those blocked)")
        ax.legend(loc="lower left", frameon=False)
    return render("pr", draw)


def calibration(curves: Curves) -> str:
    def draw(ax: Axes) -> None:
        ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=0.8, label="perfectly calibrated")
        bins = [b for b in curves.calibration if b["count"]]
        ax.plot([b["predicted"] for b in bins], [b["observed"] for b in bins], marker="o", markersize=4,
                color=BLOCKED, linewidth=1.4, label=f"model (ECE {_num(curves.ece)})")
        _unit(ax, "predicted probability of block (bin mean)", "observed block rate")
        ax.legend(loc="upper left", frameon=False)
    return render("calibration", draw)


def confusion(curves: Curves) -> str:
    """Four vector squares shaded by count (no raster image: the page stays text and paths)."""
    def draw(ax: Axes) -> None:
        matrix = curves.confusion
        peak = max(max(row) for row in matrix) or 1
        shades = matplotlib.colormaps["Blues"]
        for i, row in enumerate(matrix):
            for j, count in enumerate(row):
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, color=shades(0.1 + 0.85 * count / peak)))
                ax.text(j, i, f"{count:,}", ha="center", va="center", fontsize=12,
                        color="white" if count > peak / 2 else "black")
        ax.set_xlim(-0.5, 1.5)
        ax.set_ylim(1.5, -0.5)
        ax.grid(False)
        ax.set_aspect("equal")
        labels = ["billed", "blocked"]
        ax.set_xticks([0, 1], labels=[f"model: {label}" for label in labels])
        ax.set_yticks([0, 1], labels=[f"company: {label}" for label in labels])
        ax.set_title(f"threshold {curves.threshold:.4f}")
    return render("confusion", draw, size=(4.6, 3.4))


def score_distribution(curves: Curves) -> str:
    def draw(ax: Axes) -> None:
        edges = curves.histogram_edges
        ax.stairs(curves.histogram_billed, edges, fill=True, alpha=0.45, color=BILLED, label="billed by the company")
        ax.stairs(curves.histogram_blocked, edges, fill=True, alpha=0.45, color=BLOCKED,
                  label="blocked by the company")
        ax.axvline(curves.threshold, color="black", linewidth=1, linestyle=":", label="threshold")
        ax.set_xlim(0, 1)
        ax.set_xlabel("probability of block")
        ax.set_ylabel("orders")
        ax.legend(loc="upper center", frameon=False)
    return render("scores", draw)


def importance(values: Mapping[str, float], label: str, top: int = 15) -> str:
    ranked = sorted(values.items(), key=lambda item: -item[1])[:top][::-1]

    def draw(ax: Axes) -> None:
        names = [name for name, _ in ranked]
        ax.barh(range(len(ranked)), [value for _, value in ranked], color=BILLED)
        ax.set_yticks(range(len(ranked)), labels=names)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(label)
    return render("importance", draw, size=(6.4, 0.5 + 0.26 * max(len(ranked), 4)))


def _unit(ax: Axes, x: str, y: str) -> None:
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_aspect("equal")
    ax.set_xlabel(x)
    ax.set_ylabel(y)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
