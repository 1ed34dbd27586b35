"""What every event factory shares: where and when an event happens, ids, bodies, and the
usage errors that name the field a test got wrong."""

from __future__ import annotations

import base64
import datetime as _dt
import itertools
import json
import random
import time as _time
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import LambdaUsageError

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"

# Ids need only be unique and look like AWS's; a private generator keeps a test's own
# random.seed() sequence untouched.
_random = random.Random()
_counter = itertools.count(1)


class EventSource:
    """The account, region and clock an event factory builds events for."""

    def __init__(self, *, region: str = DEFAULT_REGION, account_id: str = DEFAULT_ACCOUNT,
                 clock: Any = None) -> None:
        self.region = region
        self.account_id = account_id
        # A VirtualClock in tests (`lambda_events`); real time for the module-level functions.
        self.clock = clock if clock is not None else _time

    def now(self) -> float:
        return float(self.clock.time())

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (f"arn:aws:{service}:{self.region if region else ''}:"
                f"{self.account_id if account else ''}:{resource}")


# -- ids ----------------------------------------------------------------------------------------
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


def uuid4() -> str:
    """A random UUID (version 4), from the private generator; as `uuid.UUID(version=4)` sets
    the bits, without building the object (a 10,000-record batch makes 10,000 of them)."""
    text = f"{_random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def hex_id(length: int) -> str:
    return f"{_random.getrandbits(length * 4):0{length}x}"


def upper_id(length: int, alphabet: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") -> str:
    return "".join(_random.choice(alphabet) for _ in range(length))


def lower_id(length: int) -> str:
    return "".join(_random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(length))


def sequence_number(digits: int) -> str:
    """An increasing decimal sequence number of `digits` digits (Kinesis, DynamoDB, SQS FIFO)."""
    return f"{10 ** (digits - 1) + next(_counter) * 1000 + _random.randrange(1000)}"


def b64_id(raw_bytes: int) -> str:
    return base64.b64encode(_random.getrandbits(raw_bytes * 8).to_bytes(raw_bytes, "big")).decode()


# -- time formats -------------------------------------------------------------------------------
def iso(when: float, *, milliseconds: bool = True) -> str:
    """`2019-03-14T12:34:56.789Z` (or without the milliseconds)."""
    moment = _dt.datetime.fromtimestamp(when, _dt.timezone.utc)
    if milliseconds:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def clf(when: float) -> str:
    """Common Log Format time, as API Gateway writes it: `09/Apr/2015:12:34:56 +0000`."""
    moment = _dt.datetime.fromtimestamp(when, _dt.timezone.utc)
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return f"{moment:%d}/{months[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"


def millis(when: float) -> int:
    return round(when * 1000)


# -- bodies and usage errors --------------------------------------------------------------------
def usage(factory: str, field: str, problem: str, fix: str) -> LambdaUsageError:
    return LambdaUsageError(f"events.{factory}(): {field} {problem}\n  Fix: {fix}")


def encode_body(factory: str, field: str, body: Any) -> tuple[str | None, bool, bool]:
    """`body` as an event carries it: (text or None, is base64, is JSON).

    `str` is sent as is, `bytes` base64-encoded, anything else as JSON."""
    if body is None:
        return None, False, False
    if isinstance(body, str):
        return body, False, False
    if isinstance(body, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(body)).decode(), True, False
    try:
        return json.dumps(body, allow_nan=False), False, True
    except (TypeError, ValueError) as exc:
        raise usage(factory, field, f"cannot be encoded: {exc}.",
                    "pass str (sent as is), bytes (sent base64-encoded) or a JSON-serializable "
                    "value (sent as JSON text).") from None


def text_body(factory: str, field: str, body: Any) -> str:
    """A body that must be text (SQS, SNS): str as is, anything else as JSON."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        raise usage(factory, field, "is bytes, but this service carries text only.",
                    "decode it, or base64-encode it yourself, and pass a str.")
    text, _, _ = encode_body(factory, field, body)
    if text is None:
        raise usage(factory, field, "is None.", "pass a str or a JSON-serializable value.")
    return text


def apply_overrides(factory: str, document: dict[str, Any], fields: Mapping[str, Any],
                    keywords: Iterable[str]) -> dict[str, Any]:
    """Replace top-level fields of `document` by their AWS names; refuse names it lacks."""
    unknown = [name for name in fields if name not in document]
    if unknown:
        valid = sorted(set(keywords)) + sorted(document)
        raise usage(
            factory, ", ".join(repr(n) for n in unknown),
            "is not a keyword of this factory nor a field of the event it builds.",
            f"use one of: {', '.join(valid)}.",
        )
    document.update(fields)
    return document


def pick(factory: str, field: str, value: Any, choices: Iterable[str]) -> str:
    options = list(choices)
    if value not in options:
        raise usage(factory, field, f"is {value!r}, which is not one AWS sends.",
                    f"use one of: {', '.join(options)}.")
    return str(value)


def header_list(factory: str, headers: Mapping[str, Any] | None) -> list[tuple[str, list[str]]]:
    """Headers as (name, values) pairs; a value may be a str or a list of str."""
    return multi_values(factory, "headers", headers or {},
                        "give each header a str, or a non-empty list of str.")


def multi_values(factory: str, field: str, mapping: Mapping[str, Any],
                 fix: str) -> list[tuple[str, list[str]]]:
    """(name, values) pairs of a mapping whose values are a str or a non-empty list of str."""
    pairs: list[tuple[str, list[str]]] = []
    for name, value in mapping.items():
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if not values or not all(isinstance(v, str) for v in values):
            raise usage(factory, f"{field}[{name!r}]", f"is {value!r}.", fix)
        pairs.append((str(name), values))
    return pairs


def merge_headers(defaults: list[tuple[str, list[str]]],
                  given: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """`given` replaces a default of the same name in any case (HTTP names are case-blind)."""
    names = {name.lower() for name, _ in given}
    return [(n, v) for n, v in defaults if n.lower() not in names] + given

