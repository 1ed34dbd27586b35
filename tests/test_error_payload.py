"""`runtime.error_payload` builds the stack trace without traceback.extract_tb's column positions
and without looking up the source of the plugin's own frames: the payload stays exactly what
extract_tb and the runtime's frame filter gave (the reference below, the implementation before)."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_lambda_async import runtime


def reference_error_payload(exc: BaseException, request_id: str) -> dict[str, Any]:
    frames = [(f.filename, f.lineno or 0, f.name, f.line) for f in traceback.extract_tb(exc.__traceback__)]
    frames = [frame for frame in frames
              if not os.path.abspath(frame[0]).startswith(runtime._PACKAGE_PREFIX)]
    return runtime.make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def caught(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except BaseException as exc:  # whatever the case raises
        return exc
    raise AssertionError("the case did not raise")


def check(exc: BaseException) -> dict[str, Any]:
    payload = runtime.error_payload(exc, "req-1")
    assert payload == reference_error_payload(exc, "req-1")
    return payload


def nested() -> None:
    def inner() -> None:
        raise ValueError("deep")

    def middle() -> None:
        inner()

    middle()


def recurse(n: int) -> None:
    if n == 0:
        raise RecursionError("bottom")
    recurse(n - 1)


def multi_line() -> None:
    values = {"a": 1}
    print(
        "x",
        values[
            "missing"
        ],
    )


def in_comprehension() -> list[int]:
    return [1 // (n - n) for n in range(3)]


def in_generator() -> list[int]:
    return list(int(s) for s in ["1", "x"])


def test_nested_frames() -> None:
    payload = check(caught(nested))
    assert [line.split(", in ")[-1].split("\n")[0] for line in payload["stackTrace"]] == [
        "caught", "nested", "middle", "inner"]


def test_recursion_collapses_repeated_frames_as_before() -> None:
    payload = check(caught(lambda: recurse(10)))
    assert any("Previous line repeated" in line for line in payload["stackTrace"])


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_repeated_frames_at_the_cutoff(depth: int) -> None:
    payload = check(caught(lambda: recurse(depth)))
    assert any("Previous line repeated" in line for line in payload["stackTrace"]) is (depth > 3)


def test_code_without_a_file() -> None:
    namespace: dict[str, Any] = {}
    exec(compile("def fail():\n    raise ValueError('from a string')\n", "<string>", "exec"), namespace)
    check(caught(namespace["fail"]))
    exec(compile("def fail():\n    raise ValueError('from a named string')\n", "<handler>", "exec"),
         namespace)
    check(caught(namespace["fail"]))


def test_source_lines_with_tabs_and_other_line_breaks(tmp_path: Path) -> None:
    source = tmp_path / "odd_lines.py"
    source.write_text("def tab():\n    raise ValueError('a\tb')  # a tab\n"
                      "def feed():\n    x = 1; raise ValueError('c')  # \x0c form feed\n"
                      "def separator():\n    raise ValueError('\u2028')\n", encoding="utf-8")
    namespace: dict[str, Any] = {}
    exec(compile(source.read_text(encoding="utf-8"), str(source), "exec"), namespace)
    for name in ("tab", "feed", "separator"):
        check(caught(namespace[name]))


def test_a_module_in_a_zip_file_is_read_through_its_loader(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile

    archive = tmp_path / "zipped.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zipped_module.py", "def fail():\n    raise ValueError('zipped')\n")
    monkeypatch.syspath_prepend(str(archive))
    import zipped_module

    try:
        payload = check(caught(zipped_module.fail))
    finally:
        sys.modules.pop("zipped_module", None)
    assert "raise ValueError('zipped')" in payload["stackTrace"][-1]


@pytest.mark.parametrize("case", [multi_line, in_comprehension, in_generator, lambda: 1 / 0])
def test_lines_of_multi_line_expressions_comprehensions_generators_and_lambdas(
        case: Callable[[], Any]) -> None:
    check(caught(case))


def test_no_traceback() -> None:
    assert check(ValueError("never raised"))["stackTrace"] == []


def test_the_plugins_own_frames_are_dropped_and_importlibs_kept(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_init_module.py").write_text("x = 1\nraise KeyError('at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    exc = caught(lambda: runtime.load_module("broken_init_module"))
    payload = check(exc)
    text = "".join(payload["stackTrace"])
    assert "importlib" in text and "broken_init_module.py" in text
    assert "runtime.py" not in text


def test_a_source_file_changed_on_disk_is_read_again(tmp_path: Path) -> None:
    source = tmp_path / "changing_module.py"
    source.write_text("def fail():\n    raise ValueError('v1')\n")
    namespace: dict[str, Any] = {}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    first = check(caught(namespace["fail"]))
    assert "raise ValueError('v1')" in first["stackTrace"][-1]
    source.write_text("def fail():\n    raise ValueError('the second version, longer')\n")
    second = check(caught(namespace["fail"]))
    assert "the second version, longer" in second["stackTrace"][-1]


def test_a_relative_file_name_follows_the_working_directory(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "relative_module.py").write_text("def fail():\n    raise ValueError('relative')\n")
    namespace: dict[str, Any] = {}
    exec(compile((tmp_path / "relative_module.py").read_text(), "relative_module.py", "exec"), namespace)
    payload = check(caught(namespace["fail"]))
    assert 'File "relative_module.py", line 2' in payload["stackTrace"][-1]
    # The same relative name, run from inside the package's directory, is one of "ours".
    monkeypatch.chdir(Path(runtime.__file__).parent)
    check(caught(namespace["fail"]))


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 4, -1])
def test_sys_tracebacklimit_counts_every_frame_the_plugins_too(
        limit: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "limited_init_module.py").write_text("raise KeyError('at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    exc = caught(lambda: runtime.load_module("limited_init_module"))
    monkeypatch.setattr(sys, "tracebacklimit", limit, raising=False)
    check(exc)
    check(caught(nested))


def test_through_an_invocation(lambda_invoker: Any) -> None:
    captured: list[BaseException] = []

    def handler(event: Any, context: Any) -> None:
        try:
            nested()
        except ValueError as exc:
            captured.append(exc)
            raise

    result = lambda_invoker.deploy(handler).invoke({})
    assert result.payload == reference_error_payload(captured[0], result.request_id)


def reference_error_log_lines(payload: dict[str, Any]) -> str:
    """`runtime.error_log_lines` as it was before it kept each element's lines."""
    line = "[ERROR]"
    if payload.get("errorType"):
        line += " " + payload["errorType"]
    if payload.get("errorMessage"):
        line += (":" if payload.get("errorType") else "") + " " + payload["errorMessage"]
    lines = [line]
    trace = payload.get("stackTrace")
    if trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in trace:
            lines.extend("\u00a0" * (len(text) - len(text.lstrip(" "))) + text.lstrip(" ")
                         for text in element.splitlines())
    return "\n".join(lines) + "\n"


class Shouting(str):
    def splitlines(self, keepends: bool = False) -> list[str]:
        return [text.upper() for text in super().splitlines(keepends)]


@pytest.mark.parametrize("trace", [
    [], [""], ['  File "a.py", line 1, in f\n    x = 1\n'], ["no indent\n  two\n\n   three"],
    ["a\r\nb\u2028c\x0cd", "  \u00a0 mixed"], ['  File "a.py", line 1, in f\n'] * 3,
    [Shouting('  File "a.py", line 1, in f\n    x = 1\n')],
])
def test_the_error_log_block_is_what_it_was_the_first_time_and_after(trace: list[str]) -> None:
    for message, error_type in (("m", "T"), ("", "T"), ("m", ""), ("", "")):
        payload = runtime.make_error(message, error_type, trace, "id")
        expected = reference_error_log_lines(payload)
        assert runtime.error_log_lines(payload) == expected
        assert runtime.error_log_lines(payload) == expected


def test_an_elements_log_lines_are_made_once_and_kept_within_bounds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "_TRACE_LINES", {})
    made: list[str] = []
    trace_lines = runtime._trace_lines

    def counting(element: str) -> tuple[str, ...]:
        made.append(element)
        return trace_lines(element)

    monkeypatch.setattr(runtime, "_trace_lines", counting)
    element = '  File "a.py", line 1, in f\n    raise ValueError()\n'
    for _ in range(3):
        runtime.error_log_lines(runtime.make_error("m", "T", [element], "id"))
    assert made == [element]
    for n in range(2 * runtime._TRACE_LINES_KEPT):
        runtime.error_log_lines(runtime.make_error("m", "T", [f"  line {n}\n"], "id"))
    assert len(runtime._TRACE_LINES) <= runtime._TRACE_LINES_KEPT
