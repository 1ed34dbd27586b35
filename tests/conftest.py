from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def handler_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """Write a handler module with `source` and return its (unique) module name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    created: list[str] = []

    def make(source: str, name: str | None = None) -> str:
        modname = name or f"handler_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{modname}.py").write_text(textwrap.dedent(source))
        created.append(modname)
        return modname

    yield make  # type: ignore[misc]
    for modname in created:
        sys.modules.pop(modname, None)


PYTEST_INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester with a quiet pytest-asyncio configuration; extend with `PYTEST_INI + ...`.

    pytest-randomly (in the test extra) would load in every run pytester starts and shuffle
    its tests; a run that wants that passes `-p randomly` itself."""
    pytester.makeini(PYTEST_INI)
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:randomly")
    return pytester


@pytest.fixture(scope="session", autouse=True)
def _close_xray_socket():
    """Close the UDP socket aws-xray-sdk's global recorder opens (Powertools' Tracer makes one).

    Nothing closes it, so at interpreter exit Python 3.10 prints an unclosed-socket
    ResourceWarning after the run's results."""
    yield
    recorder = sys.modules.get("aws_xray_sdk.core")
    emitter = getattr(getattr(recorder, "xray_recorder", None), "_emitter", None)
    sock = getattr(emitter, "_socket", None)
    if sock is not None:
        sock.close()
