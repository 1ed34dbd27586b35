"""Turning the bridge on and off: with the test's invoker, and as `mock_aws` starts and stops.

The bridge runs only while both a test's `lambda_invoker` and moto's in-memory mock are on.
moto's own `_enable_patching`/`_disable_patching` are wrapped for the invoker's life so the
bridge follows a `mock_aws` decorator, context manager or fixture, however nested; the
wrappers are removed again at the end of the test.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from . import delivery, event_invoke_config, lambda_api, push_sources, sqs_poller
from .bridge import Bridge, Patch, active, set_active

if TYPE_CHECKING:
    from ..invoker import Invoker


def _patches() -> list[Patch]:
    return (lambda_api.patches() + event_invoke_config.patches() + sqs_poller.patches()
            + push_sources.patches())


_hooked: tuple[Any, Any] | None = None


def activate(invoker: Invoker) -> Bridge:
    """Bridge `invoker` to moto for the current test (a no-op cost while moto is not imported)."""
    if active() is not None:
        deactivate()
    bridge = Bridge(invoker, _patches, delivery.deliver)
    set_active(bridge)
    invoker.deploy_hooks.append(bridge.deployed)
    invoker.pending_work.append(bridge.busy)
    if "moto" in sys.modules:  # a suite that never imports moto never pays for it
        _hook_mock_aws()
        if _mock_active():
            bridge.start()
    return bridge


def deactivate() -> None:
    """End the bridge: moto is restored exactly, even if its mock is still on."""
    bridge = active()
    set_active(None)
    if bridge is None:
        return
    try:
        bridge.stop()
    finally:
        invoker = bridge.invoker
        if bridge.deployed in invoker.deploy_hooks:
            invoker.deploy_hooks.remove(bridge.deployed)
        if bridge.busy in invoker.pending_work:
            invoker.pending_work.remove(bridge.busy)
        _unhook_mock_aws()


def _mock_active() -> bool:
    from moto.core.models import MockAWS, botocore_stubber

    return MockAWS._nested_count > 0 and bool(botocore_stubber.enabled)


def _hook_mock_aws() -> None:
    """Follow moto's in-memory mock starting and stopping (only the outermost start/stop)."""
    global _hooked
    if _hooked is not None:
        return
    from moto.core.models import MockAWS

    enable = MockAWS.__dict__["_enable_patching"]
    disable = MockAWS.__dict__["_disable_patching"]

    def _enable_patching(self: Any, reset: bool = True) -> None:
        enable(self, reset)
        # Server and proxy modes keep their backends in another process: nothing to bridge.
        bridge = active()
        if type(self) is MockAWS and bridge is not None:
            bridge.start()

    def _disable_patching(self: Any, remove_data: bool) -> None:
        try:
            bridge = active()
            if type(self) is MockAWS and bridge is not None:
                bridge.stop()
        finally:
            disable(self, remove_data)

    MockAWS._enable_patching = _enable_patching  # type: ignore[method-assign]
    MockAWS._disable_patching = _disable_patching  # type: ignore[method-assign]
    _hooked = (enable, disable)


def _unhook_mock_aws() -> None:
    global _hooked
    if _hooked is None:
        return
    from moto.core.models import MockAWS

    MockAWS._enable_patching, MockAWS._disable_patching = _hooked  # type: ignore[method-assign]
    _hooked = None

