"""Process-wide state is scoped: cuDNN flags and the forked RNG are held by one run at a time
(the widgets run ``unlearn`` in a thread), and reading the umask changes nothing."""

from __future__ import annotations

import os
import threading

import torch

from workbench.atomic import current_umask
from workbench.unlearn.api import deterministic_cudnn


def test_a_second_thread_waits_for_the_run_holding_the_flags():
    before = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    seen, entered = [], threading.Event()

    def other():
        with deterministic_cudnn():
            seen.append("other")

    with deterministic_cudnn():
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        thread = threading.Thread(target=other)
        thread.start()
        entered.wait(0.3)  # the other run cannot enter while this one holds the flags
        seen.append("first")
    thread.join(5)
    assert seen == ["first", "other"]
    assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == before


def test_reading_the_umask_does_not_change_it():
    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027 and current_umask() == 0o027
    finally:
        os.umask(old)
