"""Published baselines, each a registered method that declares the data it needs."""

from workbench.unlearn.baselines import (  # noqa: F401  (importing registers each method)
    bad_teacher,
    finetune,
    jit,
    neggrad_plus,
    scrub,
    ssd,
    unsir,
)
