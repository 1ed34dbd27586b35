"""How the simulation steps a busy environment's event loop: inside the environment's scope,
until the loop would wait; and what real work the loop has in flight."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .clock import RealTime
from .exits import interrupts

if TYPE_CHECKING:
    from .environment import ExecutionEnvironment

# The most real time one wait of the simulation counts against lambda_blocking_limit: a wait is
# a slice of at most 0.05 s; a longer gap between two means the simulation was busy elsewhere.
_MAX_REAL_WAIT_STEP = 0.25


class LoopDriver:
    """Steps a busy environment's event loop for the simulation, inside the environment."""

    def __init__(self, env: ExecutionEnvironment) -> None:
        self.env = env

    def run_ready(self, *, thaw: bool = False) -> bool:
        """Step the loop. A thaw (before the handler starts) runs what is due now, no further."""
        env = self.env
        invocation = env.current
        loop = env.policy.environment_loop
        # Not loop.is_closed() and is_running(): this runs at every step of the simulation.
        if loop is None or invocation is None or loop._closed or loop._thread_id is not None:
            return False
        if not (loop._ready or loop.has_work()):
            return False
        with env.user_code(invocation, invocation.deadline):
            try:
                loop.run_driven(may_jump=not thaw)
            except BaseException as exc:
                # SystemExit, KeyboardInterrupt or os._exit from a task or a callback: asyncio
                # lets them out of the loop; on Lambda they end the runtime process.
                if interrupts.is_real(exc):
                    raise
                env._crashed(invocation, exc)
        # The loop has stopped: only now may the invocation end, and the environment with it.
        env._loop_stopped(invocation)
        return True

    def next_wakeup(self) -> float | None:
        loop = self.env.loop
        # A loop that is running further up the stack (its handler made a nested synchronous
        # invoke) cannot be stepped until that call returns.
        return None if loop is None or loop.is_running() else loop.next_wakeup()

    def real_work(self) -> str | None:
        loop = self.env.loop
        return None if loop is None or self.env.current is None else loop.real_work()

    def real_wait_allowed(self, what: str) -> bool:
        invocation = self.env.current
        if invocation is None:
            return True
        # `lambda_blocking_limit` caps the real time one invocation spends waiting on real work:
        # the real time since the simulation last waited on it (a slice), counted per wait.
        now = RealTime.monotonic()
        if invocation.real_wait_mark is not None:
            invocation.real_waited += min(now - invocation.real_wait_mark, _MAX_REAL_WAIT_STEP)
        invocation.real_wait_mark = now
        if invocation.real_waited < self.env.function.real_time_budget:
            return True
        self.env.cut_short(invocation, what)
        return False

    def wait_real(self, seconds: float, what: str) -> None:
        loop = self.env.loop
        if loop is not None:
            loop.wait_real(seconds)
