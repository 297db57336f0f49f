"""The README's Python examples run exactly as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quickstart_and_audit_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    namespace: dict = {}
    exec(compile(blocks[0] + "\n" + blocks[1], str(README), "exec"), namespace)
    assert namespace["erased"].model is not namespace["sample"].model
    assert namespace["report"].to_dict()["schema_version"] >= 1
