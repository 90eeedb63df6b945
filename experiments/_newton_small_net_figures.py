"""The two figures of ``newton_small_net``: convergence, and Hessian spectra with Newton's damping."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

COLOURS = dict(GD="tab:blue", Adam="tab:orange", Newton="tab:red", LM="tab:green")


def convergence_figure(studies: dict, published: dict) -> plt.Figure:
    """Loss per iteration and per CPU second, one row per task; on sinc the published losses dotted."""
    fig, axes = plt.subplots(len(studies), 2, figsize=(11, 3.4 * len(studies)), squeeze=False)
    for (ax_k, ax_s), (task, s) in zip(axes, studies.items()):
        for m, r in s["runs"].items():
            loss = np.maximum(r["loss"], 1e-300)   # an exact 0 has no logarithm
            ax_k.plot(np.arange(1, len(loss) + 1), loss, color=COLOURS[m], label=f"{m} ({r['iterations']})")
            ax_s.plot(np.maximum(r["clock"], 1e-5), loss, color=COLOURS[m], label=m)
        if task == "sinc":
            for m, (epochs, loss) in published.items():
                for ax in (ax_k, ax_s):
                    ax.axhline(loss, color=COLOURS[m], ls=":", lw=1)
            ax_k.plot([], [], "k:", lw=1, label="published (dotted)")
        ax_k.set(xscale="log", yscale="log", xlabel="iteration k + 1", ylabel="loss", title=f"{task}: per iteration")
        ax_s.set(xscale="log", yscale="log", xlabel="CPU seconds", ylabel="loss", title=f"{task}: per CPU second")
        ax_k.legend(fontsize=8)
        for ax in (ax_k, ax_s):
            ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def spectra_figure(studies: dict) -> plt.Figure:
    """Per task: the Hessian's spectrum at the start and at each method's end; Newton's τ against −λ_min."""
    fig, axes = plt.subplots(2, len(studies), figsize=(5 * len(studies), 8), squeeze=False)
    for j, (task, s) in enumerate(studies.items()):
        ax = axes[0, j]
        points = [("start", s["start"], "k", "--")] + [(f"{m} end", r["end"], COLOURS[m], "-")
                                                      for m, r in s["runs"].items()]
        if "plateau" in s:
            points.append(("GD's plateau", s["plateau"], "tab:purple", ":"))
        for label, p, colour, ls in points:
            ax.plot(np.arange(1, len(p["eigenvalues"]) + 1), p["eigenvalues"], ls, marker=".", color=colour,
                    label=label)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_yscale("symlog", linthresh=1e-6)
        ax.set(xlabel="eigenvalue index (ascending)", ylabel="eigenvalue of ∇²f", title=f"{task}: spectra (P = "
               f"{s['n_parameters']})")
        ax.legend(fontsize=7)
        ax = axes[1, j]
        k, tau, lam = np.array(s["damping"]).T
        ax.plot(k, np.where(tau > 0, tau, np.nan), "o", color="tab:red", ms=4, label="τ added by Newton")
        ax.plot(k, np.where(lam < 0, -lam, np.nan), "-", color="k", label="−λ_min (where λ_min < 0)")
        ax.set(yscale="log", xlabel="Newton iterate k", ylabel="τ, −λ_min",
               title=f"{task}: {int(np.sum(tau == 0))} of {len(tau)} sampled steps undamped")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
