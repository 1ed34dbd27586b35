"""Reporting findings: the message a test fails (or warns) with, and the "why" shown once per run."""

from __future__ import annotations

from .findings import Finding


def explanation() -> list[str]:
    """Why leaked work matters and how to fix it in general: shown once per run, in the summary."""
    return [
        "Why it matters: Lambda freezes the execution environment as soon as the handler "
        "returns. Work still pending then does not run: it resumes during some later invocation "
        "that lands in the same environment (inside another request's time budget), or is lost "
        "when the environment goes away. A coroutine that is never awaited never runs at all.",
        "How to fix: finish the work before the handler returns, as each finding says: await "
        "tasks and coroutines, join threads, wait for executor jobs, cancel timers you do not need.",
    ]


def failure_message(findings: list[Finding]) -> str:
    """The teardown message for `findings`: what happened, each fix, how to opt out.

    Why it matters is said once per run (`explanation()`, in the summary), not per test."""
    lines = [f"Handler code left {len(findings)} piece(s) of work unfinished when it returned:"]
    lines.extend(f"  {number}. {finding}" for number, finding in enumerate(findings, 1))
    lines.append(
        "If it is deliberate: @pytest.mark.lambda_leaks(ignore=['<name or file:line pattern>']) "
        "for these findings; @pytest.mark.lambda_leaks(mode='warn') or mode='off' for a test "
        "(or pytestmark for a module); lambda_leaks = warn|off in ini or --lambda-leaks=warn|off "
        "for the suite."
    )
    lines.append("Why it matters: see the 'lambda' section at the end of the run.")
    return "\n".join(lines)
