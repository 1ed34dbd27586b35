"""Whose work a thread does: the thread that runs handler code, and the threads it starts.

Handler code runs on the thread that steps the simulation. A thread that code starts works
for it, and so does every thread those start in turn: such a thread is adopted by its
starter's owner (the leak detector adopts the threads it sees handler code start). Every
other thread (a test's server thread, moto's server, a pool a library started from its own
thread) is nobody's: what it does is not handler code, whatever runs at the same time.
"""

from __future__ import annotations

import threading

_OWNER = "_lambda_async_owner"


def owner() -> int:
    """The thread the current thread works for: its starter's owner if adopted, else itself."""
    found: int | None = getattr(threading.current_thread(), _OWNER, None)
    return threading.get_ident() if found is None else found


def adopt(thread: threading.Thread) -> None:
    """`thread`, about to be started from the current thread, works for this thread's owner."""
    setattr(thread, _OWNER, owner())


def works_for(thread_id: int) -> bool:
    """True if the current thread is `thread_id` or works for it."""
    return threading.get_ident() == thread_id or owner() == thread_id
