"""Human labels for the ids the audit and the methods use: one place for every screen.

Records and JSON keep the ids (``mia_forget_lira``, ``jit``); reports, notebooks and widgets
show ``label`` and, where there is room, the one-line ``explanation``. A method or test
without an entry here fails ``tests/test_report_plain.py``.
"""

from __future__ import annotations

from typing import NamedTuple


class Label(NamedTuple):
    """A short name and one plain sentence of what it is."""

    label: str
    explanation: str


ATTACKS: dict[str, Label] = {
    "loss": Label("loss attack", "compares the model's error on a record with its error on "
                  "records it never saw"),
    "rmia": Label("RMIA attack", "compares the model's confidence on a record with that of "
                  "shadow models trained with and without similar records"),
    "lira": Label("LiRA attack", "a likelihood-ratio test against shadow models trained "
                  "with and without each record (the strongest attack run)"),
}

_ACCURACY_TESTS: dict[str, Label] = {
    "forget_accuracy": Label(
        "Accuracy on the forgotten records",
        "Are the forgotten records predicted as well as by a model that never saw them: "
        "no better (still remembered) and no worse (damaged)?"),
    "test_accuracy": Label(
        "Accuracy on unseen records",
        "Does the model still predict records it never trained on as well as before?"),
    "retain_accuracy": Label(
        "Accuracy on the kept training records",
        "Does the model still predict the training records it keeps as well as before?"),
}


def _membership_tests() -> dict[str, Label]:
    out = {}
    for attack, (name, how) in ATTACKS.items():
        out[f"mia_forget_{attack}"] = Label(
            f"Membership test on the forgotten records ({name})",
            "Can an attacker tell the forgotten records were trained on? The " + name + " "
            + how + "; the target is what a model retrained without them scores.")
        out[f"mia_retain_{attack}"] = Label(
            f"Exposure of the kept records ({name})",
            "Did the training records that stay become easier to identify as training data "
            "than under retraining (a side effect of erasing others)?")
    return out


TESTS: dict[str, Label] = {**_membership_tests(), **_ACCURACY_TESTS}

METHODS: dict[str, Label] = {
    "synthetic": Label("Data-free overwrite",
                       "Teaches the model to answer on the forgotten records as a model that "
                       "never saw them would, using synthetic stand-ins instead of the kept "
                       "training data."),
    "synthetic_retain": Label("Overwrite with a sample of kept records",
                              "The data-free overwrite, with a small random sample of the kept "
                              "training records added to its synthetic stand-ins, for users "
                              "who still hold some of them."),
    "retrain": Label("Retrain from scratch",
                     "Trains a new model on the kept records only: the reference every other "
                     "method is judged against, and the slowest."),
    "finetune": Label("Fine-tune on kept records",
                      "Continues training on the kept records only, so what was specific to "
                      "the forgotten ones fades."),
    "neggrad_plus": Label("Push away and repair (NegGrad+)",
                          "Trains the model away from the forgotten records while training "
                          "it on the kept ones."),
    "scrub": Label("Teacher-student unlearning (SCRUB)",
                   "A copy of the model learns to disagree with the original on the forgotten "
                   "records and to agree with it on the kept ones."),
    "bad_teacher": Label("Bad-teacher distillation",
                         "Learns to answer like a random model on the forgotten records and "
                         "like the original on the kept ones."),
    "ssd": Label("Selective dampening (SSD)",
                 "Weakens the weights that matter far more for the forgotten records than for "
                 "the rest; no training."),
    "jit": Label("Smoothing around the records (JiT)",
                 "Makes the model's answers insensitive to small changes around the forgotten "
                 "records, using those records only."),
    "unsir": Label("Noise impair-repair (UNSIR)",
                   "Whole classes only: damages the forgotten class with learned noise, then "
                   "repairs the model on kept records."),
}

MODELS: dict[str, str] = {"original": "original (before erasure)",
                          "unlearned": "after erasure",
                          "gold_standard": "retrained without the records"}


def label_for_test(test: str) -> Label:
    """The label of a test id; an unknown id shows as itself (a record from a newer
    workbench), with no explanation."""
    return TESTS.get(test, Label(test, ""))


def label_for_method(name: str) -> Label:
    """The label of a method name; an unknown name shows as itself."""
    return METHODS.get(name, Label(name, ""))


def label_for_model(name: str) -> str:
    """``gold_standard_1`` -> ``retrained without the records #2``."""
    if name.startswith("gold_standard_") and name.rsplit("_", 1)[1].isdigit():
        return f"{MODELS['gold_standard']} #{int(name.rsplit('_', 1)[1]) + 1}"
    return MODELS.get(name, name.replace("_", " "))


def method_summary(name: str) -> str:
    """The registered method's technical ``summary`` (empty for an unregistered name)."""
    from workbench.unlearn import available_methods, get_unlearner

    return get_unlearner(name).summary if name in available_methods() else ""
