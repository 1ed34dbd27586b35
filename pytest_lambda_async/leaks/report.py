"""Reporting findings: the message a test fails (or warns) with."""

from __future__ import annotations

from .findings import Finding


def failure_message(findings: list[Finding]) -> str:
    """The teardown message for `findings`: what happened, why it matters, how to fix, how to opt out."""
    lines = [f"Handler code left {len(findings)} piece(s) of work unfinished when it returned:"]
    lines.extend(f"  {number}. {finding}" for number, finding in enumerate(findings, 1))
    lines.append(
        "Why it matters: Lambda freezes the execution environment as soon as the handler "
        "returns. Work still pending then does not run: it resumes during some later invocation "
        "that lands in the same environment (inside another request's time budget), or is lost "
        "when the environment goes away. A coroutine that is never awaited never runs at all."
    )
    lines.append(
        "How to fix: finish the work before the handler returns, as each line says: await tasks "
        "and coroutines, join threads, wait for executor jobs, cancel timers you do not need."
    )
    lines.append(
        "If it is deliberate: @pytest.mark.lambda_leaks(ignore=['<name or file:line pattern>']) "
        "for these findings; @pytest.mark.lambda_leaks(mode='warn') or mode='off' for a test "
        "(or pytestmark for a module); lambda_leaks = warn|off in ini or --lambda-leaks=warn|off "
        "for the suite."
    )
    return "\n".join(lines)
