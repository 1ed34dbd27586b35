"""Properties of the texts the runtime writes as AWS does, over any input (the recorded cases
themselves are in test_aws_recordings.py)."""

from __future__ import annotations

import json
import traceback

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_lambda_async import InvalidRequestContentException, runtime

PREFIX = "Could not parse request body into json: Could not parse payload into json: "


@given(st.binary(max_size=64))
def test_any_request_body_is_json_or_aws_s_invalid_request_content(body: bytes) -> None:
    try:
        json.loads(body.decode("utf-8"))
        valid = True
    except (UnicodeDecodeError, ValueError):
        valid = False
    if valid:
        runtime.check_request_body(body)
        return
    with pytest.raises(InvalidRequestContentException) as caught:
        runtime.check_request_body(body)
    assert caught.value.aws_message.startswith(PREFIX)
    assert caught.value.status_code == 400


@given(st.binary(min_size=1, max_size=32).filter(lambda b: _bad_utf8(b)))
def test_bad_utf8_names_the_byte_and_where_the_parser_stopped(body: bytes) -> None:
    start = _bad_utf8(body)
    assert start is not None
    with pytest.raises(InvalidRequestContentException) as caught:
        runtime.check_request_body(body)
    message = caught.value.aws_message
    assert (f"code {body[start]})" in message) or (f"start byte 0x{body[start]:02x}" in message)
    assert message.endswith("]") and "line: " in message and "column: " in message


def _bad_utf8(body: bytes) -> int | None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


# Text without line breaks of any kind (str.splitlines, which the runtime uses too, also
# breaks at \x1c-\x1e and \x85).
_LINE = st.text(st.characters(blacklist_categories=("Cs", "Zl", "Zp", "Cc"),
                              blacklist_characters="\x1c\x1d\x1e\x85"), max_size=20)


@given(st.lists(st.tuples(st.text(alphabet="ab/_-.", min_size=1, max_size=12),
                          st.integers(1, 999), st.text(alphabet="abc_", min_size=1, max_size=8),
                          _LINE), max_size=4))
def test_error_log_blocks_indent_with_no_break_spaces(frames) -> None:
    trace = traceback.format_list([(f"/app/{name}.py", line, func, source)
                                   for name, line, func, source in frames])
    payload = runtime.make_error("boom", "ValueError", trace, "id")
    lines = runtime.error_log_lines(payload).splitlines()
    assert lines[:2] == ["[ERROR] ValueError: boom", "Traceback (most recent call last):"]
    for line in lines[2:]:
        indent = len(line) - len(line.lstrip("\u00a0"))
        assert indent in (2, 4) and not line[indent:].startswith(" ")
