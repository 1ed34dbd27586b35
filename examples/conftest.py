"""Shared by the examples: nothing here changes what a test checks."""

import sys

import pytest


@pytest.fixture(scope="session", autouse=True)
def _close_xray_socket():
    """Close the UDP socket aws-xray-sdk's global recorder opens (Powertools' Tracer makes one).

    Nothing closes it, so at interpreter exit Python 3.10 prints an unclosed-socket
    ResourceWarning after the run's results."""
    yield
    recorder = sys.modules.get("aws_xray_sdk.core")
    emitter = getattr(getattr(recorder, "xray_recorder", None), "_emitter", None)
    sock = getattr(emitter, "_socket", None)
    if sock is not None:
        sock.close()
