"""Handler code that ends the process: `sys.exit`, `os._exit`, `KeyboardInterrupt` and the
other `BaseException`s the AWS runtime does not catch.

On Lambda each of them kills the runtime process, and the invocation gets `Runtime.ExitError`.
Here handler code runs inside pytest's process, which must survive it. A real Ctrl-C from the
person at the terminal must still stop pytest: while the simulation runs, a SIGINT handler
marks that the interrupt came from the terminal, so a `KeyboardInterrupt` is told apart from
one that handler code raised itself.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]
import os
import signal
import threading
from types import FrameType
from typing import Any, NoReturn

from . import deadline

_MAIN_THREAD = threading.main_thread().ident


class ProcessExit(SystemExit):
    """`os._exit(code)` called by handler code: on Lambda, the runtime process ends here.

    A `SystemExit`, so that asyncio lets it through its tasks and callbacks as it does
    `sys.exit()`, instead of logging it and carrying on."""


def exit_reason(exc: BaseException) -> str:
    """What Lambda says when the runtime process ends with `exc` uncaught (Go's wording of the
    process state). `sys.exit(0)` and `sys.exit()` end it "without providing a reason"
    [test_lambda.py::TestLambdaErrors::test_lambda_handler_exit, test_lambda_runtime_exit]."""
    if isinstance(exc, KeyboardInterrupt):
        # Python ends on an uncaught KeyboardInterrupt by killing itself with SIGINT.
        return "Runtime exited with error: signal: interrupt"
    if isinstance(exc, (SystemExit, ProcessExit)):
        code = exc.code
        if code is None:
            status = 0
        elif isinstance(code, int):
            status = code & 0xFF
        else:
            status = 1  # sys.exit("message"): the message goes to stderr, the status is 1
    else:
        status = 1  # the interpreter prints the traceback and exits with 1
    if status == 0:
        return "Runtime exited without providing a reason"
    return f"Runtime exited with error: exit status {status}"


def exit_output(exc: BaseException) -> str:
    """What the dying interpreter writes to stderr (and so to the log) for `exc`."""
    if isinstance(exc, ProcessExit):
        return ""
    if isinstance(exc, SystemExit):
        code = exc.code
        return "" if code is None or isinstance(code, int) else f"{code}\n"
    import traceback

    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


class _Interrupts:
    """Installed while the simulation runs: a SIGINT handler (main thread only) and `os._exit`.

    On the main thread both stay between invocations, until the real-time guard's next tick
    finds the simulation left (a tenth of a second) or the test ends: putting them in and out
    costs more system calls than the rest of an invocation. Outside handler code they pass
    straight through to what they replaced."""

    def __init__(self) -> None:
        self.real = False
        self._installed = False
        self._previous: Any = None
        self._pid = 0
        self._real_exit = os._exit
        self._handler = self._on_sigint  # one bound method, compared by identity
        self._exit_wrapper = self._exit  # the same

    def install(self) -> None:
        self.real = False
        if os._exit is not self._exit_wrapper:
            self._pid = os.getpid()
            os._exit = self._exit_wrapper  # type: ignore[assignment]
        if threading.get_ident() != _MAIN_THREAD:
            return
        if self._installed and _signal.getsignal(signal.SIGINT) is self._handler:
            return  # still installed from the last time the simulation ran
        # The C function: the module's wrapper converts to enums.
        self._previous = _signal.signal(signal.SIGINT, self._handler)
        self._installed = True

    def uninstall(self) -> None:
        if os._exit is self._exit_wrapper:
            os._exit = self._real_exit
        if self._installed:
            self._installed = False
            if _signal.getsignal(signal.SIGINT) is self._handler:
                _signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.real = True
        previous = self._previous
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        # SIG_IGN: ignored, as it was before.

    def _exit(self, code: int) -> NoReturn:
        # Only handler code, in this process (not a forked child), on the thread running it.
        if os.getpid() == self._pid and deadline.current() is not None:
            raise ProcessExit(code)
        self._real_exit(code)

    def is_real(self, exc: BaseException) -> bool:
        """True if `exc` must end the test session: a Ctrl-C from the terminal."""
        return self.real and isinstance(exc, KeyboardInterrupt)


interrupts = _Interrupts()
# The main thread's wrapper stays installed between invocations (see SimulationScope): the
# real-time guard takes it down once the simulation is left, with itself.
deadline.real_time_guard.on_idle_disarm.append(interrupts.uninstall)
