"""The runtime's JSON fast paths: a flat object's text made directly (`runtime._flat_json`) and a
body scanned directly (`runtime.unmarshal_request`) give exactly what simplejson's encoder and
`simplejson.loads` give, and raise what they raise; anything else goes through simplejson."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import simplejson
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_lambda_async import runtime
from pytest_lambda_async.errors import LambdaUsageError

# Text with what JSON escapes: quotes, backslashes, control characters, non-ASCII, astral.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["", '"', "\\", "\n\t\r\x00\x1f\x7f", "é", "\u2028\u2029", "😀", "</script>"])
FLAT_VALUE = (TEXT | st.integers() | st.integers(min_value=-(10**40), max_value=10**40)
              | st.booleans() | st.none() | st.lists(TEXT, max_size=4))
FLAT = st.dictionaries(TEXT, FLAT_VALUE, max_size=6)
# Values the fast path leaves to simplejson.
OTHER_VALUE = (st.floats() | st.lists(st.integers(), min_size=1, max_size=3)
               | st.dictionaries(TEXT, st.integers(), max_size=2) | st.tuples(TEXT)
               | st.builds(bytes, st.binary(max_size=3)))
MIXED = st.dictionaries(TEXT | st.integers() | st.booleans() | st.none(), FLAT_VALUE | OTHER_VALUE,
                        max_size=5)


class Name(str):
    pass


class Number(enum.IntEnum):
    ONE = 1


def reference_response(value: Any) -> bytes | str:
    try:
        return runtime._ENCODER.encode(value).encode("utf-8")
    except Exception as exc:  # what marshal_response wraps in its fault
        return f"Unable to marshal response: {exc}"


def response(value: Any) -> bytes | str:
    try:
        return runtime.marshal_response(value)
    except runtime.Fault as fault:
        assert fault.error_type == runtime.Fault.MARSHAL_ERROR
        return fault.message


def reference_event(event: Any) -> bytes | str:
    try:
        return runtime._EVENT_ENCODER.encode(event).encode("utf-8")
    except (TypeError, ValueError) as exc:
        return f"{exc}"


def event_body(event: Any) -> bytes | str:
    try:
        return runtime.encode_event(event, limit=runtime.MAX_SYNC_PAYLOAD)
    except LambdaUsageError as exc:
        return str(exc).split("Lambda could not deliver it: ", 1)[1].split(". Lambda events are")[0]


@settings(max_examples=400, deadline=None)
@given(FLAT | MIXED)
def test_responses_and_events_are_what_simplejson_writes(value: dict[Any, Any]) -> None:
    assert response(value) == reference_response(value)
    assert event_body(value) == reference_event(value)


@pytest.mark.parametrize("value", [
    {}, {"a": []}, {"a": [""]}, {Name("k"): "v"}, {"k": Name("v")}, {"k": [Name("v")]},
    {"k": Number.ONE}, {"k": True, "j": False, "i": None, "h": -0}, {"k": 10**5000},
    {"k": 1.5}, {"k": float("nan")}, {"k": ("a",)}, {1: "a"}, {None: "a"}, {"k": "\ud800"},
    {"k": ["a", 1]}, {"k": {"nested": "x"}},
])
def test_edge_cases_are_what_simplejson_writes(value: dict[Any, Any]) -> None:
    assert response(value) == reference_response(value)
    assert event_body(value) == reference_event(value)


def test_a_dict_subclass_goes_through_simplejson() -> None:
    class Ordered(dict[str, Any]):
        pass

    value = Ordered(b="x", a=1)
    assert response(value) == reference_response(value)
    assert event_body(value) == reference_event(value)


def test_an_error_payload_and_a_flat_event_do_not_build_simplejsons_encoder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any, value: Any) -> str:
        raise AssertionError("the fast path was not taken")

    payload = runtime.make_error("planned", "RuntimeError", ['  File "f.py", line 1, in h\n'], "id")
    expected = runtime._ENCODER.encode(payload).encode("utf-8")
    monkeypatch.setattr(simplejson.JSONEncoder, "encode", refuse)
    assert runtime.marshal_response(payload) == expected
    assert runtime.encode_event({"n": 1, "kind": "ok"}, limit=100) == b'{"n": 1, "kind": "ok"}'


JSON_DOC = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)
SPACE = st.sampled_from(["", " ", "\n", "\t\r", "\ufeff", "\ufeff ", " \ufeff"])
BODY = (st.tuples(SPACE, JSON_DOC.map(simplejson.dumps), SPACE).map("".join).map(str.encode)
        | st.binary(max_size=12)
        | st.sampled_from([b"", b"NaN", b"[NaN]", b"-Infinity", b'{"a": 1} x', b'{"a": 1}{}',
                           b"\xef\xbb\xbf{}", b"\xff", b'"\xc3"', b"[1,]", b"1" * 5000,
                           b"[" * 5000 + b"]" * 5000, b'{"a": 1, "a": 2}', b"00", b"1.0e5"]))


def reference_request(body: bytes) -> Any:
    try:
        return ("value", simplejson.loads(body))
    except Exception as exc:
        return ("fault", f"Unable to unmarshal input: {exc}")


def request(body: bytes) -> Any:
    try:
        return ("value", runtime.unmarshal_request(body))
    except runtime.Fault as fault:
        assert fault.error_type == runtime.Fault.UNMARSHAL_ERROR
        return ("fault", fault.message)


@settings(max_examples=400, deadline=None)
@given(BODY)
def test_request_bodies_decode_as_simplejson_decodes_them(body: bytes) -> None:
    got, expected = request(body), reference_request(body)
    # NaN is not equal to itself: compare the documents as simplejson writes them back.
    assert simplejson.dumps(got) == simplejson.dumps(expected)


def test_a_body_that_fills_the_document_does_not_go_through_loads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(body: Any) -> Any:
        raise AssertionError("the fast path was not taken")

    monkeypatch.setattr(simplejson, "loads", refuse)
    assert runtime.unmarshal_request(b'{"n": 1, "kind": ["ok"]}') == {"n": 1, "kind": ["ok"]}
