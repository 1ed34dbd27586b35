"""Threads that handler code left running must not keep pytest's process alive at its end.

On Lambda such a thread is frozen with its environment and never holds anything up. Here the
interpreter would wait for every non-daemon thread before exiting, so a handler that started a
thread that never ends would hang pytest after its summary. Threads that handler code starts
are noted; if any is still running when the interpreter shuts down, the process ends without
waiting for it (after the usual `atexit` functions), with pytest's own exit status. The
threads are noted as handler code starts them (`realwork.ThreadWaits`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import weakref
from typing import Any

# Threads started while handler code ran, that were not daemons.
_started: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
_registered = False
# pytest's exit status, set by the plugin at the end of the session.
exit_status = 0


def note(thread: threading.Thread) -> None:
    """Handler code starts `thread`, a non-daemon thread: it must not hold up pytest's exit."""
    global _registered
    _started.add(thread)
    if not _registered:
        _registered = True
        # Called by threading._shutdown before it joins non-daemon threads.
        threading._register_atexit(_at_shutdown)  # type: ignore[attr-defined]


def running() -> list[threading.Thread]:
    return [thread for thread in _started if thread.is_alive()]


def _at_shutdown() -> None:
    left = running()
    if not left:
        return
    names = ", ".join(sorted(thread.name for thread in left))
    sys.stderr.write(
        f"pytest-lambda-async: {len(left)} thread(s) that handler code started were still running "
        f"at exit ({names}); the process ends without waiting for them, as Lambda would have "
        "frozen them with their environment.\n"
    )
    _exit_now()


def _exit_now() -> Any:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed stream has nothing left to flush
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(exit_status)
