"""The ablation's configurations: the full method and each single contribution switched off.

Each configuration is the quickstart setting plus the training flags of one switch (the
original's `-nogrowing`, `-nopixelnorm`, ... as `pgan_tf.train` flags). The paper's Table 1 adds
the contributions one at a time; here each is removed from the full method alone (leave one out),
so every row differs from the full method in exactly one switch.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Ablation:
    name: str
    title: str  # the table's row label
    train_flags: tuple  # added to the sweep's training command line
    paper_claim: str  # what the paper reports for this contribution (our summary, with its section)
    expect: str = (
        "worse"  # what switching it off should do to SWD by the paper: "worse" or "similar"
    )


FULL = Ablation("full", "Full method (all contributions)", (), "", expect="")

ABLATIONS = (
    FULL,
    Ablation(
        "no_growing",
        "− progressive growing (32² from the start)",
        ("--nogrowing",),
        "Growing improves SWD and trains faster for the same images shown "
        "(Table 1 (b), §5, Fig. 4).",
    ),
    Ablation(
        "no_mbstd",
        "− minibatch standard deviation",
        ("--mbstd_group_size=0",),
        "The minibatch-stddev layer increases variation and improves SWD (Table 1 (e), §3).",
    ),
    Ablation(
        "no_eqlr",
        "− equalized learning rate",
        ("--nouse_wscale",),
        "Equalized learning rate improves SWD (Table 1 (f), §4.1).",
    ),
    Ablation(
        "no_pixelnorm",
        "− pixelwise feature normalization",
        ("--nouse_pixelnorm",),
        "Pixel norm mainly prevents escalating signal magnitudes and changes results little "
        "on most datasets (Table 1 (g), §4.2).",
        expect="similar",
    ),
    Ablation(
        "no_ema",
        "− generator EMA (raw G evaluated)",
        ("--g_ema_decay=0",),
        "All of the paper's results use a running average of G's weights for the images "
        "shown (App. A.1); no ablation number is given for it.",
    ),
)
BY_NAME = {a.name: a for a in ABLATIONS}


def select(names):
    """'full,no_ema' / ['full', ...] / '' (all) → the chosen Ablations in table order."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown configuration(s) {unknown}; choose from {', '.join(BY_NAME)}")
    return [a for a in ABLATIONS if not names or a.name in names]
