"""The main job end to end: the quick campaign into a fresh catalog, read back and reduced."""

from __future__ import annotations

import pytest

from sloxide.cli import main


@pytest.mark.slow
def test_quick_demo_reproduces_the_paper(tmp_path, capsys):
    data, out = tmp_path / "catalog", tmp_path / "report"
    code = main(["demo", "--quick", "--data", str(data), "--out", str(out)])
    printed = capsys.readouterr().out
    assert "C10/L6 Δρ_AHE (2 K)" in printed
    assert code == 0, printed  # every reproduced value within its tolerance
    assert (out / "report.md").exists()
    assert len(list(out.glob("*.png"))) >= 5
    assert (data / "catalog.db").exists() or any(data.iterdir())


def test_bad_arguments_exit_with_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--seed", "many"])
    assert exit_info.value.code != 0
    assert "invalid int value" in capsys.readouterr().err
