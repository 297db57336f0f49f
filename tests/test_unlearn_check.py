"""``check_unlearner``, the public conformance check: a user's own method that keeps every
contract passes; one bug at a time fails exactly the contract it breaks, by name.

(Every built-in method runs through the same contracts in ``test_unlearn.py``.)
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import workbench as wb
from workbench.hashing import weights_sha256
from workbench.unlearn import (
    CheckFailed,
    CheckReport,
    ContractFailure,
    DataAccess,
    Params,
    Unlearner,
    base,
    check_unlearner,
    checks,
    param,
)
from workbench.unlearn.tiny import build_tiny_world, tiny_world

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


class NoisyAscent(Unlearner):
    """A user's method that keeps every contract: a few steps of gradient ascent on noisy
    copies of the forget records, the noise drawn from the run's generator."""

    data_access = DataAccess.FORGET_ONLY
    summary = "Gradient ascent on noisy copies of the forget records."

    def unlearn(self, model, forget, retain, *, params, context):
        x, y = context.forget_inputs, context.forget_labels
        optimizer = torch.optim.SGD(model.parameters(), lr=params.lr)
        for step in range(1, params.steps + 1):
            noise = self.noise(x, forget, context)
            loss = -F.cross_entropy(model(x + params.noise * noise), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            context.report(step, params.steps, model, loss)
        return model

    def noise(self, x, forget, context) -> torch.Tensor:
        return torch.randn(x.shape, generator=context.generator).to(x.device)


@pytest.fixture
def register(register_for_test) -> Callable[..., str]:
    """``register(Base, **attrs)``: a subclass of ``Base`` under a unique name with its own
    Params, registered for the test and removed afterwards."""
    def make(parent: type[Unlearner] = NoisyAscent, **attrs) -> str:
        name = f"test-only-{uuid.uuid4().hex[:12]}"

        @dataclass(frozen=True)
        class AscentParams(Params):
            method = name
            lr: float = param(0.02, low=1e-6, high=1.0, help="SGD learning rate")
            steps: int = param(10, low=1, high=1_000, help="ascent steps on the forget records")
            noise: float = param(0.05, low=0.0, high=1.0, help="std of the input noise")

        cls = type(f"Test{parent.__name__}", (parent,),
                   {"name": name, "Params": AscentParams, **attrs})
        return register_for_test(cls)

    return make


def failures(name: str, **kwargs) -> tuple[set[str], str]:
    """The contracts ``name`` breaks, and the error's message."""
    with pytest.raises(CheckFailed) as info:
        check_unlearner(name, **kwargs)
    return {o.name for o in info.value.report.failures}, str(info.value)


def test_a_method_that_keeps_every_contract_passes(register):
    name = register()
    report = check_unlearner(name)
    assert report.passed and report.method == name and report.device == "cpu"
    assert [o.name for o in report.outcomes] == [n for n, _ in checks(name)]
    assert {o.status for o in report.outcomes} == {"passed"}
    assert "20 contracts kept, 0 known failure(s), 0 broken" in str(report)
    assert CheckReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    assert check_unlearner(wb.get_unlearner(name)).outcomes[0].name == "params_declared"


def test_a_method_that_ignores_the_seed_fails_seed_drives_randomness(register):
    class FixedNoise(NoisyAscent):
        def noise(self, x, forget, context):
            return torch.randn(x.shape, generator=torch.Generator().manual_seed(0))

    broken, message = failures(register(FixedNoise))
    assert broken == {"seed_drives_randomness[record]", "seed_drives_randomness[class]"}
    assert "contract(s): seed_drives_randomness[record], seed_drives_randomness[class]" in message
    assert "the method ignores the seed" in message


def test_a_method_with_its_own_unseeded_randomness_fails_same_seed_same_model(register):
    class Unseeded(NoisyAscent):
        def noise(self, x, forget, context):
            return torch.from_numpy(np.random.default_rng().normal(size=tuple(x.shape))).float()

    broken, message = failures(register(Unseeded))
    assert broken == {"same_seed_same_model[record]", "same_seed_same_model[class]",
                      "undeclared_data_unused[record]", "undeclared_data_unused[class]"}
    assert "same_seed_same_model[class]: two runs with seed 0 gave different models" in message
    # a method that is not reproducible cannot be judged on its data access: said so
    assert "undeclared_data_unused[class]: cannot tell: two runs with seed 0 already differ" \
        in message


def test_a_forget_only_method_that_reads_retain_records_fails_undeclared_data_unused(register):
    class Peeks(NoisyAscent):
        def noise(self, x, forget, context):  # the retain records' mean, through the table
            retain = forget.table.retain_for(forget).inputs().mean(0)
            return super().noise(x, forget, context) + retain.to(x.device)

    broken, message = failures(register(Peeks))
    assert broken == {"undeclared_data_unused[record]", "undeclared_data_unused[class]"}
    assert re.search(r"declares forget_only, yet its model changed when only the retain and "
                     "held-out records changed", message)


def test_a_retain_only_method_that_reads_the_forget_records_fails(register):
    class RetainPeeks(NoisyAscent):  # declares retain_only, uses context.forget_inputs anyway
        data_access = DataAccess.RETAIN_ONLY

    broken, message = failures(register(RetainPeeks))
    assert {"undeclared_data_unused[record]", "undeclared_data_unused[class]"} <= broken
    assert "declares retain_only" in message and "forget and held-out records" in message


def test_a_method_that_modifies_the_original_fails_new_model_original_untouched(register):
    world = build_tiny_world()  # its own world: this method damages the world's model

    class Vandal(NoisyAscent):
        def unlearn(self, model, forget, retain, *, params, context):
            with torch.no_grad():
                next(world.model.parameters()).add_(1.0)
            return super().unlearn(model, forget, retain, params=params, context=context)

    broken, message = failures(register(Vandal), tiny=world)
    assert "new_model_original_untouched[record]" in broken
    assert re.search(r"new_model_original_untouched\[record\]: the run raised RuntimeError: "
                     "method '.*' modified the original model", message)
    assert weights_sha256(tiny_world().model) == tiny_world().original_sha  # the shared one


def test_a_method_that_diverges_fails_with_the_divergence_error(register):
    class Diverges(NoisyAscent):
        def unlearn(self, model, forget, retain, *, params, context):
            context.report(1, 1, model, 0.0)
            with torch.no_grad():
                next(model.parameters())[0, 0] = float("nan")
            return model

    broken, message = failures(register(Diverges))
    assert "new_model_original_untouched[record]" in broken
    assert "the run raised DivergenceError" in message and "diverged" in message


def test_known_check_failures_are_expected_strictly(register):
    class Deterministic(NoisyAscent):
        def noise(self, x, forget, context):
            return torch.zeros_like(x)

    reason = "draws nothing at random"
    name = register(Deterministic, known_check_failures={"seed_drives_randomness": reason})
    report = check_unlearner(name)
    known = [o for o in report.outcomes if o.status == "known failure"]
    assert [o.name for o in known] == ["seed_drives_randomness[record]",
                                       "seed_drives_randomness[class]"]
    assert {o.detail for o in known} == {reason}
    # a listed failure that does not happen fails: the list must stay true
    broken, message = failures(register(known_check_failures={"seed_drives_randomness": reason}))
    assert broken == {"seed_drives_randomness[record]", "seed_drives_randomness[class]"}
    assert "passed, but known_check_failures says it fails" in message
    with pytest.raises(ValueError, match=r"known_check_failures names no contract: \['typo'\]"):
        check_unlearner(register(known_check_failures={"typo": "?"}))


def test_checks_are_named_lazy_callables_that_raise_naming_the_contract(register):
    class FixedNoise(NoisyAscent):
        def noise(self, x, forget, context):
            return torch.zeros_like(x)

    found = dict(checks(register(FixedNoise)))
    found["same_seed_same_model[record]"]()  # a contract it keeps: returns None
    with pytest.raises(ContractFailure, match=r": contract seed_drives_randomness\[class\] "
                                              "broken: seeds 0 and 1 gave the same model"):
        found["seed_drives_randomness[class]"]()
    assert issubclass(ContractFailure, AssertionError)


def test_only_registered_methods_are_checked():
    with pytest.raises(ValueError, match="unknown unlearning method 'nope'"):
        check_unlearner("nope")

    class Unregistered(NoisyAscent):
        name = "never-registered"

    with pytest.raises(ValueError, match="not registered; decorate it with @register_unlearner"):
        check_unlearner(Unregistered)
    with pytest.raises(ValueError, match="registered name or Unlearner class"):
        check_unlearner(42)


def test_the_readme_method_passes_the_check():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    (block,) = [b for b in blocks if "check_unlearner(" in b]
    namespace: dict = {}
    try:
        exec(compile(block, str(README), "exec"), namespace)
        assert namespace["report"].passed
    finally:
        base._REGISTRY.pop("my_ascent", None)
