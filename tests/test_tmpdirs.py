"""Environments' /tmp directories: unique, 0o700, empty at every cold start, and the empty ones
of gone environments reused (renamed) rather than removed and made again."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest

from pytest_lambda_async import Invoker, VirtualClock
from pytest_lambda_async.tmpdirs import TmpDirs


def _is_fresh(path: str) -> bool:
    st = os.lstat(path)
    return stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700 and not os.listdir(path)


def test_an_empty_tmp_is_renamed_for_the_next_environment(tmp_path: Path) -> None:
    dirs = TmpDirs(str(tmp_path), keep=True)
    first = dirs.make("lambda-a-1-")
    inode = os.stat(first).st_ino
    dirs.release(first)
    second = dirs.make("lambda-b-2-")
    assert os.path.basename(second).startswith("lambda-b-2-") and second != first
    assert not os.path.exists(first)
    assert os.stat(second).st_ino == inode and _is_fresh(second)
    third = dirs.make("lambda-b-3-")  # none kept: a new one
    assert os.stat(third).st_ino != inode and _is_fresh(third)


def test_a_tmp_that_is_not_as_mkdtemp_makes_it_is_removed_not_reused(tmp_path: Path) -> None:
    dirs = TmpDirs(str(tmp_path), keep=True)
    left_files, opened_up, made_later = (dirs.make(f"lambda-{n}-") for n in ("files", "mode", "late"))
    Path(left_files, "left.txt").write_text("x")
    os.chmod(opened_up, 0o755)
    inode = os.stat(made_later).st_ino
    for path in (left_files, opened_up, made_later):
        dirs.release(path)
    # The kept one's path is gone at once: code left behind cannot write there by its path...
    with pytest.raises(FileNotFoundError):
        Path(made_later, "written-after-shutdown").write_text("x")
    # ...and what it wrote through a handle it kept means the directory is not handed on.
    (kept,) = (entry for entry in os.listdir(tmp_path) if os.stat(tmp_path / entry).st_ino == inode)
    Path(tmp_path, kept, "written-after-shutdown").write_text("x")
    made = [dirs.make("lambda-new-") for _ in range(3)]
    assert all(_is_fresh(path) for path in made)
    assert not any(os.path.exists(p) for p in (left_files, opened_up, made_later))
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in made)


def test_without_keep_and_after_clear_nothing_is_left(tmp_path: Path) -> None:
    dirs = TmpDirs(str(tmp_path))
    dirs.release(dirs.make("lambda-a-"))
    assert os.listdir(tmp_path) == []
    kept = TmpDirs(str(tmp_path), keep=True)
    kept.release(kept.make("lambda-a-"))
    assert len(os.listdir(tmp_path)) == 1
    kept.clear()
    assert os.listdir(tmp_path) == []


def test_a_reset_environment_gives_its_empty_tmp_to_the_next_cold_start(tmp_path: Path) -> None:
    def handler(event: Any, context: Any) -> list[Any]:
        tmp = tempfile.gettempdir()
        return [tmp, os.stat(tmp).st_ino, os.listdir(tmp)]

    dirs = TmpDirs(str(tmp_path), keep=True)  # as the plugin keeps them for a session
    invoker = Invoker(VirtualClock(), tmp_root=str(tmp_path), tmp_dirs=dirs)
    fn = invoker.deploy(handler, name="cold")
    first = fn.invoke({}).payload
    # Held open, the directory's inode cannot be recycled for a new one: the same inode is
    # the same directory.
    held = os.open(first[0], os.O_RDONLY)
    try:
        fn.environments[0].shutdown(reason="test")
        second = fn.invoke({}).payload
        assert os.path.samestat(os.fstat(held), os.stat(second[0]))
    finally:
        os.close(held)
    assert second[0] != first[0] and second[2] == []
    assert os.path.basename(second[0]).startswith("lambda-cold-2-")
    invoker.close()
    dirs.clear()
    assert os.listdir(tmp_path) == []


def test_without_the_plugin_a_gone_environments_tmp_goes_at_once_and_none_is_inside_another(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An Invoker of its own makes each /tmp in tempfile's directory as it was when the invoker
    # was made: a nested invoke's environment does not get a /tmp inside the outer one's, and
    # a gone environment's /tmp is removed then, not kept for a later one.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    invoker = Invoker(VirtualClock())
    inner = invoker.deploy(lambda e, c: tempfile.gettempdir(), name="inner")

    def outer(event: Any, context: Any) -> list[str]:
        made = inner.invoke({}).payload
        inner.environments[0].shutdown(reason="idle")
        return [tempfile.gettempdir(), made, str(os.path.exists(made))]

    try:
        outer_tmp, inner_tmp, inner_left = invoker.deploy(outer, name="outer").invoke({}).payload
        later = invoker.deploy(lambda e, c: tempfile.gettempdir(), name="later").invoke({}).payload
        assert {os.path.dirname(p) for p in (outer_tmp, inner_tmp, later)} == {str(tmp_path)}
        assert inner_left == "False" and os.listdir(outer_tmp) == []
    finally:
        invoker.close()
    assert os.listdir(tmp_path) == []


def test_the_sessions_tests_reuse_empty_tmps_and_never_see_what_another_left(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    record = tmp_path / "dirs.txt"
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_tmp=f"""
        import os, stat, tempfile
        import pytest

        RECORD = {str(record)!r}
        # Each test's /tmp, held open: its inode cannot be recycled for a new directory, so the
        # same inode is the same directory.
        HELD = []

        def look(event, context):
            tmp = tempfile.gettempdir()
            st = os.lstat(tmp)
            seen = os.listdir(tmp)
            if event.get("leave"):
                open(os.path.join(tmp, "left.txt"), "w").close()
            return [tmp, stat.S_IMODE(st.st_mode), seen, os.environ["TMPDIR"]]

        @pytest.mark.parametrize("n", range(4))
        def test_invoke(lambda_invoker, n):
            tmp, mode, seen, env_tmp = lambda_invoker.deploy(look, name=f"fn{{n}}").invoke(
                {{"leave": n == 1}}).payload
            assert seen == [] and mode == 0o700 and env_tmp == tmp
            assert os.path.basename(tmp).startswith(f"lambda-fn{{n}}-1-")
            same = bool(HELD) and os.path.samestat(os.fstat(HELD[-1]), os.stat(tmp))
            HELD.append(os.open(tmp, os.O_RDONLY))
            with open(RECORD, "a") as f:
                f.write(f"{{tmp}} {{same}}\\n")
    """)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=4)
    rows = [line.split() for line in record.read_text().splitlines()]
    # The first test's empty /tmp served the second; the second's (left a file) was removed;
    # the third's new one served the fourth.
    assert [same for _, same in rows] == ["False", "True", "False", "True"]
    assert len({path for path, _ in rows}) == 4
    assert not os.path.exists(os.path.dirname(rows[0][0]))  # the root went with the session


def test_each_cold_start_has_its_own_variables_in_lambdas_order_and_sees_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The variables every environment of a function shares are made once per function: each
    # environment still has its own log stream and TMPDIR, in the same places, and a change of
    # the settings, of the environment mapping or of the task root reaches the next cold start.
    lambda_keys = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                   "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_LOG_GROUP_NAME",
                   "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_INITIALIZATION_TYPE",
                   "AWS_EXECUTION_ENV", "AWS_REGION", "AWS_DEFAULT_REGION", "LAMBDA_TASK_ROOT",
                   "LAMBDA_RUNTIME_DIR", "_HANDLER", "TZ", "AWS_ACCESS_KEY_ID",
                   "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
    for name in [*lambda_keys, "TMPDIR", "TABLE", "_X_AMZN_TRACE_ID"]:
        monkeypatch.delenv(name, raising=False)

    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"order": [k for k in os.environ if k in event["keys"]], "environ": dict(os.environ),
                "stream": context.log_stream_name, "tmp": tempfile.gettempdir()}

    variables = {"TABLE": "orders", "TMPDIR": "/not/this"}
    invoker = Invoker(VirtualClock(), tmp_root=str(tmp_path))
    fn = invoker.deploy(handler, name="vars", environment=variables)
    keys = [*lambda_keys, "TABLE", "TMPDIR", "_X_AMZN_TRACE_ID"]
    seen = []
    for change in (None, "mapping", "settings", "cwd"):
        if change == "mapping":
            variables["TABLE"] = "invoices"
        elif change == "settings":
            fn.reconfigure(memory_size=512)
        elif change == "cwd":
            monkeypatch.chdir(tmp_path)
        for env in fn.environments:
            env.shutdown(reason="next cold start")
        seen.append(fn.invoke({"keys": keys}).payload)
    invoker.close()
    for payload in seen:
        assert payload["order"] == keys
        environ = payload["environ"]
        assert environ["AWS_LAMBDA_LOG_STREAM_NAME"] == payload["stream"]
        assert environ["TMPDIR"] == payload["tmp"] != "/not/this"
    assert len({payload["stream"] for payload in seen}) == len({p["tmp"] for p in seen}) == 4
    assert [p["environ"]["TABLE"] for p in seen] == ["orders", "invoices", "invoices", "invoices"]
    assert [p["environ"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] for p in seen] == ["128", "128", "512", "512"]
    assert seen[3]["environ"]["LAMBDA_TASK_ROOT"] == str(tmp_path) != seen[2]["environ"]["LAMBDA_TASK_ROOT"]


def test_a_kept_tmp_under_a_setgid_root_is_reused(tmp_path: Path) -> None:
    # Directories made under a setgid directory inherit the bit (0o2700): still what mkdtemp
    # makes there, so still handed on rather than removed and made again.
    root = tmp_path / "shared"
    root.mkdir()
    os.chmod(root, 0o2755)
    dirs = TmpDirs(str(root), keep=True)
    first = dirs.make("lambda-a-1-")
    held = os.open(first, os.O_RDONLY)  # held open, its inode cannot be recycled for a new one
    try:
        dirs.release(first)
        second = dirs.make("lambda-b-2-")
        assert os.path.samestat(os.fstat(held), os.stat(second)) and not os.listdir(second)
    finally:
        os.close(held)
