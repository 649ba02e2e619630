"""Generate docs/attributions.md: every registered attribution method in one table.

Family, rule and default parameters come from the ``attributions`` registry (the class's
metadata, the first line of its docstring and its constructor); the cost per sample from the
committed benchmark numbers (``benchmarks/results/attribution_costs.json``, written by
``attribution_costs.py``); library and references from the tables below. ``tests/
test_attribution_docs.py`` fails when the committed page differs from what this writes.

Usage: ``python benchmarks/attribution_docs.py [--check]``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
COSTS = HERE / "results" / "attribution_costs.json"
PAGE = REPO / "docs" / "attributions.md"
FAMILY_ORDER = ("gradient", "path", "propagation", "perturbation", "surrogate", "cam", "control")
FAMILY_TEXT = {
    "gradient": "derivatives of the output at the input (local sensitivity)",
    "path": "gradients integrated along a path from a baseline to the input",
    "propagation": "the output's relevance redistributed backwards layer by layer by a rule",
    "perturbation": "the output change when parts of the input are replaced",
    "surrogate": "a simple model fitted to the outputs of perturbed inputs",
    "cam": "class activation maps of a convolutional layer, upsampled to the input",
    "control": "a baseline every real method has to beat",
}
#: Module of the implementation -> the library doing the work.
LIBRARY = {
    "zennit_methods": "zennit",
    "zennit_more": "zennit",
    "captum_methods": "captum",
    "captum_more": "captum",
    "surrogates": "captum",
    "clinical_occlusion": "xecgbench (numpy, torch)",
    "control_methods": "xecgbench (torch)",
}
REFERENCES = {
    "clinical_occlusion": "xecgbench; intervals after Goettling et al., Sci Rep 2024 (xECGArch)",
    "deeplift": "Shrikumar et al., ICML 2017",
    "deeplift_shap": "Lundberg & Lee, NeurIPS 2017; Shrikumar et al., ICML 2017",
    "dtd": "Montavon et al., Pattern Recognit. 2017; Goettling et al., Sci Rep 2024",
    "dtd_flat": "Montavon et al., LRP overview 2019; Anders et al., zennit 2021",
    "grad_cam": "Selvaraju et al., ICCV 2017",
    "gradient_shap": "Lundberg & Lee, NeurIPS 2017; Erion et al., Nat Mach Intell 2021",
    "guided_backprop": "Springenberg et al., ICLR workshop 2015",
    "input_x_gradient": "Shrikumar et al., arXiv:1605.01713 2016",
    "integrated_gradients": "Sundararajan et al., ICML 2017",
    "kernel_shap": "Lundberg & Lee, NeurIPS 2017",
    "lime": "Ribeiro et al., KDD 2016",
    "lrp_alpha_beta": "Bach et al., PLOS ONE 2015",
    "lrp_epsilon": "Bach et al., PLOS ONE 2015",
    "lrp_gamma": "Montavon et al., LRP overview 2019",
    "lrp_zplus": "Montavon et al., Pattern Recognit. 2017",
    "occlusion": "Zeiler & Fergus, ECCV 2014",
    "random": "control (Adebayo et al., NeurIPS 2018, sanity checks)",
    "amplitude": "control (xecgbench: the signal-amplitude null)",
    "saliency": "Simonyan et al., ICLR workshop 2014",
    "smoothgrad": "Smilkov et al., arXiv:1706.03825 2017",
    "vargrad": "Adebayo et al., ICLR workshop 2018",
}
#: Supplied by the runner, not set in a suite.
RUNTIME = {"fs": "sampling rate", "seed": "run seed"}
SKIPPED = {"chunk_size"}


def parameters(cls: type) -> str:
    """``name=default`` of the constructor, following ``**kwargs`` into the base classes."""
    found: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        signature = inspect.signature(init)
        for p in list(signature.parameters.values())[2:]:  # self, model
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in SKIPPED:
                continue
            found.setdefault(p.name, p.default)
        if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
            break
    parts = []
    for name, default in found.items():
        if name in RUNTIME:
            parts.append(f"`{name}` ({RUNTIME[name]})")
        elif default is inspect.Parameter.empty:
            parts.append(f"`{name}`")
        else:
            parts.append(f"`{name}={default!r}`")
    return ", ".join(parts) or "—"


def summary(cls: type) -> str:
    """The first sentence-line of the class docstring, for the rule column."""
    doc = inspect.getdoc(cls) or ""
    return doc.split("\n\n", 1)[0].replace("\n", " ").strip()


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(registry: Any, costs: dict[str, Any]) -> str:
    """The page for ``registry`` (the attributions registry) and the ``costs`` JSON."""
    measured = costs["methods"]
    by_family: dict[str, list[Any]] = {}
    for registration in registry:
        cls = registration.component
        by_family.setdefault(cls.family, []).append(registration)
    families = [f for f in FAMILY_ORDER if f in by_family] + sorted(
        f for f in by_family if f not in FAMILY_ORDER
    )
    lines = [
        "# Attribution methods",
        "",
        "<!-- generated by benchmarks/attribution_docs.py from the registry and "
        "benchmarks/results/attribution_costs.json; do not edit -->",
        "",
        f"xecgbench bundles {len(registry.names())} attribution methods in "
        f"{len(families)} families. Any of them can be named in a suite's `attributions:` "
        "list, with parameters as `{name: ..., params: {...}}`; the `paper` suite's default "
        "list is kept to cheap methods, one or more per family.",
        "",
        "| family | what it computes |",
        "|---|---|",
        *[f"| {f} | {FAMILY_TEXT.get(f, '')} |" for f in families],
        "",
        "## Cost",
        "",
        f"Milliseconds per sample, median of {costs['repeats']} interleaved rounds of "
        f"{costs['n']} windows, on a width-{costs['width']} xECGArch at {costs['fs']:g} Hz "
        f"(10-s windows, T = {costs['T']}), one torch thread, CPU "
        f"({costs['machine'].get('cpu', 'n/a')}; load average "
        f"{costs['load_average_before'][0]:.1f} → {costs['load_average'][0]:.1f}). The "
        "ratio to `saliency`, timed in the same rounds, is the figure that carries over to "
        "other machines. Regenerate with `python benchmarks/attribution_costs.py && python "
        "benchmarks/attribution_docs.py`. Methods with a sample count (SmoothGrad, "
        "VarGrad, DeepLIFT-SHAP, GradientSHAP, integrated gradients, KernelSHAP, LIME) scale "
        "linearly with it; every method bounds the signals per forward pass "
        "(`chunk_size`, `batch_rows`, `max_rows` or `internal_batch_size`, default 64), so "
        "peak memory does not grow with the batch.",
        "",
        "## Methods",
        "",
        "| method | family | rule / algorithm | library | ms/sample morphology | "
        "ms/sample rhythm | × saliency (morph., rhythm) | parameters (defaults) | reference |",
        "|---|---|---|---|---:|---:|---:|---|---|",
    ]
    for family in families:
        for registration in sorted(by_family[family], key=lambda r: r.name):
            cls = registration.component
            module = cls.__module__.rsplit(".", 1)[-1]
            cost = measured.get(registration.name)
            if cost is None:
                ms_m = ms_r = ratio = "not measured"
            else:
                ms_m = f"{cost['ms_per_sample']['morphology']:.2f}"
                ms_r = f"{cost['ms_per_sample']['rhythm']:.2f}"
                ratio = (f"{cost['over_saliency']['morphology']:.1f}, "
                         f"{cost['over_saliency']['rhythm']:.1f}")
            row = [
                f"`{registration.name}`", family, _cell(summary(cls)),
                LIBRARY.get(module, registration.plugin), ms_m, ms_r, ratio,
                _cell(parameters(cls)), REFERENCES.get(registration.name, "—"),
            ]
            lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "## Fiducial masks",
        "",
        "The method contract is `method(x, target)`. A method whose `__call__` also takes a "
        "`masks` keyword (here `clinical_occlusion`, and `kernel_shap`/`lime` with "
        "`segments=\"intervals\"`) gets the explained windows' fiducial masks (`p_wave`, "
        "`qrs`, `r_peak`, `t_wave`, bool `(N, 1, T)`) from the runner; methods without it are "
        "called as before. Quantus' robustness and randomisation metrics re-explain the "
        "scored windows with their masks; when Quantus retries single samples the masks are "
        "not passed, and `clinical_occlusion` scores those samples as missing.",
        "",
        "`clinical_occlusion` removes one interval type at a time (P waves, QRS complexes, "
        "T waves, TP segments): each run of the type is replaced by a straight line between "
        "the samples just before and after it (the baseline it sits on, no step), and the "
        "drop of the explained output is spread evenly over the type's samples.",
        "",
        "KernelSHAP and LIME explain segments: fixed `segment_ms` windows (default 100 ms, "
        "100 segments on a 10-s window) or, with `segments=\"intervals\"`, each wave and gap "
        "of each beat. A segment switched off is replaced by the window's median.",
        "",
        "Grad-CAM uses the last convolution of each branch (found by running the model: a "
        "convolution reading the input starts a branch); the ensemble sums its branches' maps.",
        "",
        "## Controls and nulls",
        "",
        "Two controls run beside the methods and are never ranked with them. `random` is "
        "seeded noise. `amplitude` is the signal above its window's median, `(x − median)⁺`: "
        "where the ECG is large (R peaks, tall T waves). It is the positive part rather than "
        "`|x − median|` because the localisation metrics count only positive relevance, and "
        "z+ rules (DTD) pass positive evidence from positive inputs, so `(x − median)⁺` is "
        "the map such a method would give if it followed amplitude alone; `|x − median|` "
        "would also credit downward deflections (S waves, inverted T waves) that no z+ "
        "method marks. A method that localises no better than `amplitude` shows the ECG, "
        "not what the model learnt.",
        "",
        "Every method also runs on each seed's **untrained** model (the same architecture "
        "re-initialised from the seed: the weights every pretraining of that seed starts "
        "from), scored on the same windows; the leaderboard reports each score above it "
        "(one attribute and one score stage per seed × method, `explain.untrained_baseline`).",
        "",
        "A method that builds its relevance from the fiducial masks declares "
        "`mask_informed = True` (here `clinical_occlusion`). The alignment metrics score it "
        "against the masks it was built from, so its natural null is not the mask's share "
        "but about one over the number of interval types it spreads relevance over "
        "(`clinical_occlusion`'s default P, QRS, T, TP: ≈ 0.25 on each); the tables mark it "
        "*mask-informed* and rank it apart, against its own untrained-model score.",
        "",
    ]
    return "\n".join(lines)


def generate() -> str:
    """The page from the installed registry and the committed costs."""
    from xecgbench.plugins.manager import load_plugins

    registry = load_plugins(autoload=False).registry["attributions"]
    return render(registry, json.loads(COSTS.read_text(encoding="utf-8")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Fail if the page is stale.")
    args = parser.parse_args()
    page = generate()
    if args.check:
        if PAGE.read_text(encoding="utf-8") != page:
            sys.exit(f"{PAGE} is stale: run python benchmarks/attribution_docs.py")
        return
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE}")


if __name__ == "__main__":
    main()
