"""`gotforge learn-stages --quick`: the whole chain (real renders, real tiny models, real eval) in a tmp dir."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.train import stages


def test_quick_chain(tmp_path: Path) -> None:
    out = tmp_path / "stages"
    assert stages.main(["--out", str(out), "--workers", "1", "--quick"]) == 0
    result = json.loads((out / "stages.json").read_text(encoding="utf-8"))
    assert result["quick"] is True
    for name in ("stage1", "stage2", "stage3"):
        assert result[name]["steps"] == 3
    s2 = result["stage2"]
    assert s2["from_scratch"]["steps"] == s2["steps"]
    for side in (s2["with_stage1_encoder"], s2["from_scratch"]):
        for key in ("heldout_loss", "cer", "exact", "samples"):
            assert key in side
    assert set(s2["stage1_buys"]) == {"heldout_loss", "cer", "exact"}
    s3 = result["stage3"]
    for group in ("box", "color"):
        assert s3["before"][group]["samples"] > 0 and s3["after"][group]["samples"] > 0
        assert "cer" in s3["stage3_buys"][group]
    assert len(result["evals"]) == 6
    for path in result["evals"].values():
        assert Path(path).is_file(), path
