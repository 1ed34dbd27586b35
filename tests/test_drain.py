"""The async queue's drain: what it leaves behind stays byte for byte what it was before it was
made faster (`drain_scenario.py`, `golden/drain.txt`)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import drain_scenario

GOLDEN = Path(__file__).parent / "golden" / "drain.txt"


def test_the_drain_leaves_exactly_what_it_did() -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        lines = drain_scenario.document().splitlines()
    expected = GOLDEN.read_text(encoding="utf-8").splitlines()
    differing = [(n, want, got)
                 for n, (want, got) in enumerate(zip(expected, lines, strict=False)) if want != got]
    assert (len(lines), differing[:3]) == (len(expected), [])
