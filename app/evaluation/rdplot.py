"""The RD plot: PSNR against bits per pixel of livecodec and every anchor on one clip.

matplotlib is imported only when a plot is drawn: importing the package stays quick.
"""
from __future__ import annotations

import os

from .rd import METHODS

__all__ = ["plot_rd"]

_STYLE = {"livecodec": ("tab:red", "o", "-"), "mjpeg": ("tab:gray", "s", "--"),
          "mpeg4": ("tab:blue", "^", "-."), "x264": ("tab:green", "D", ":"),
          "x264_veryfast": ("tab:olive", "v", ":"), "x264_medium": ("tab:purple", "P", ":")}


def plot_rd(result: dict, path: str | os.PathLike[str]) -> None:
    """PSNR against bpp (log axis) of every method on one clip, with the 4:2:0 ceiling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig, ax = plt.subplots(figsize=(7.5, 5.0), dpi=110)
    for key, label in METHODS.items():
        pts = result["sweeps"].get(key)
        if not pts:
            continue
        color, marker, line = _STYLE[key]
        # In sweep order, so that an anchor whose rate is not monotone in its setting shows it.
        ax.plot([p["bpp"] for p in pts], [p["psnr"] for p in pts], color=color, marker=marker,
                linestyle=line, markersize=4, linewidth=2.2 if key == "livecodec" else 1.4,
                label=label)
    if result.get("ceiling") is not None:
        ax.axhline(result["ceiling"], color="black", linewidth=0.8, linestyle=(0, (2, 3)),
                   label=f"yuv420p round trip ({result['ceiling']:.1f} dB)")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("bits per pixel (log scale)")
    ax.set_ylabel("PSNR (dB, mean over frames, BGR)")
    ax.set_title(f"{result['name']}: {result['width']}x{result['height']}, "
                 f"{result['frames']} frames")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
