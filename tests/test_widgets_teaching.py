"""The teaching notebook's panels (03): one erasure per click, a story from the numbers."""

from __future__ import annotations

import html

from workbench.widgets.teaching import (
    STILL_REMEMBERED,
    ForgetDigitPanel,
    ForgetImagesPanel,
    memorised,
)


def test_forgetting_images_tells_what_the_numbers_show(samples):
    digits = samples["digits"]
    panel = ForgetImagesPanel(digits.model, digits.records, images=6, gold_models=2)
    panel.images.value = 4
    panel.button.click()
    assert panel.messages.error is None, panel.messages.error
    result = panel.outcome.audit
    assert panel.outcome.unlearned.forget_count == 4
    assert bytes(panel.picture.value).startswith(b"\x89PNG")
    story = html.unescape(panel.story.value)
    record = memorised(result)
    assert f"image {record.record_id}" in story and f"{record.gold_standard:.2f}" in story
    if record.unlearned - record.gold_standard > STILL_REMEMBERED:
        assert "still remembered" in story  # the text never contradicts the picture
    else:
        assert "gone" in story
    assert f"erasure verdict: {result.erasure}" in story
    panel.images.value = 5  # a new input: the old picture and story leave the screen
    assert panel.outcome is None and bytes(panel.picture.value) == b""
    assert "Press" in panel.story.value


def test_forgetting_a_digit_shows_the_drift_and_its_story(samples):
    digits = samples["digits"]
    panel = ForgetDigitPanel(digits.model, digits.records, digit="3", gold_models=2)
    panel.digit.value = "7"
    panel.button.click()
    assert panel.messages.error is None, panel.messages.error
    assert panel.outcome.unlearned.forget_count == len(digits.records.select(classes=["7"]))
    assert "digit 7" in panel.story.value and len(panel.plot.outputs) == 1
    panel.digit.value = "1"
    assert panel.outcome is None and panel.plot.outputs == ()
