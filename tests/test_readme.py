"""README.md never lies: every code block is copied from a file the suite runs, or run here."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, re.S)

# The ini block of README's "Configuration" section.
README_INI = """\
[pytest]
lambda_function_name = orders
lambda_timeout = 30
lambda_memory_size = 512
lambda_region = eu-west-1
lambda_reuse = auto
lambda_leaks = fail
lambda_unfinished_events = fail
asyncio_default_fixture_loop_scope = function
"""


def _copied_blocks() -> list[tuple[str, str]]:
    blocks = []
    for language, body in BLOCKS:
        if language in ("python", "ini"):
            source, _, code = body.partition("\n")
            match = re.fullmatch(r"# from (\S+)", source.strip())
            assert match, f"a {language} block in README.md does not say where it is from:\n{body}"
            blocks.append((match.group(1), code))
    return blocks


@pytest.mark.parametrize(("source", "code"), _copied_blocks())
def test_readme_block_is_copied_from_a_file_the_suite_runs(source: str, code: str) -> None:
    text = (ROOT / source).read_text()
    assert textwrap.dedent(code) in textwrap.dedent(text) or code in text, (
        f"README.md has a block that is not in {source}:\n{code}"
    )


def test_readme_has_no_unfinished_sections() -> None:
    assert not re.search(r"\b[A-Z]+_SECTION\b|TODO|TBD", README)


def test_readme_ini_block_configures_a_suite(pytester: pytest.Pytester) -> None:
    pytester.makeini(README_INI)
    pytester.makepyfile("""
        def test_configured(lambda_context, lambda_invoker):
            assert lambda_context.function_name == "orders"
            assert lambda_context.memory_limit_in_mb == "512"
            assert lambda_context.get_remaining_time_in_millis() == 30000
            assert lambda_context.invoked_function_arn.startswith("arn:aws:lambda:eu-west-1:")
    """)
    result = pytester.runpytest("-W", "error::DeprecationWarning")
    result.assert_outcomes(passed=1)
    assert "asyncio_default_fixture_loop_scope" not in result.stdout.str().replace(
        "asyncio_default_fixture_loop_scope=function", "")  # the header shows it set


def test_readme_starts_with_the_two_commands() -> None:
    first, second = (body for language, body in BLOCKS[:2])
    assert 'pip install -e ".[examples]" && pytest examples -rP' in first
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = second.strip().splitlines()[-1].split("&& ")[-1]
    assert test_command == "python -m pytest -n 2"
    # Run as a line of its own, once per supported Python.
    assert re.search(rf"^\s*{re.escape(test_command)}\s*$", ci, re.M)


README_HOOK = '''
def pytest_lambda_async_invocation(item, invocation):
    if invocation["cold_start"]:
        item.user_properties.append(("cold_start", invocation["request_id"]))
'''


def test_readme_hook_example_runs(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(README_HOOK)
    pytester.makepyfile("""
        def test_two_invokes(request, lambda_invoker):
            fn = lambda_invoker.deploy(lambda event, context: "ok")
            first, second = fn.invoke({}), fn.invoke({})
            assert request.node.user_properties == [("cold_start", first.request_id)]
    """)
    pytester.runpytest().assert_outcomes(passed=1)
