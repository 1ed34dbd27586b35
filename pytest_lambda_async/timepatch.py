"""What handler code sees as the time: freezegun on the simulated clock, and a simulated `time.sleep`.

Both start lazily, at most once per test, when the first handler code runs: entering
freezegun costs milliseconds with boto3 loaded, so a test that never invokes never pays.
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Any

from .clock import VirtualClock
from .deadline import virtual_sleep

_EPOCH = _dt.datetime(1970, 1, 1)


class TimePatches:
    """Started by the first handler code of a test, stopped at its end."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.started = False
        self._freezer: Any = None
        self._factory: Any = None
        self._sleep: Any = None

    def ensure_started(self) -> None:
        if self.started:
            return
        self.started = True
        self._sleep = time.sleep
        time.sleep = virtual_sleep
        import freezegun.api

        if freezegun.api.freeze_factories:
            # The test froze time itself: its freeze_time stays in charge of what code reads.
            return
        self._freezer = freezegun.freeze_time(self.clock.now(), ignore=["pytest_lambda_async"])
        self._factory = self._freezer.start()
        self.clock.add_listener(self._move)

    def _move(self, now: float) -> None:
        if self._factory is not None:
            self._factory.time_to_freeze = _EPOCH + _dt.timedelta(seconds=now)

    def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        if self._sleep is not None:
            time.sleep = self._sleep
            self._sleep = None
        if self._freezer is not None:
            self.clock.remove_listener(self._move)
            self._freezer.stop()
            self._freezer = self._factory = None
