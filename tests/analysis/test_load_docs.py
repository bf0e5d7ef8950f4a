"""docs/load-metrics.md cannot rot: its Python examples run."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "load-metrics.md"


def test_load_metrics_doc_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    out = capsys.readouterr().out
    assert "AU in total" in out
    assert "step_cadence_spm" in out
