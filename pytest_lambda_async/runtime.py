"""Calling a handler as the AWS Python runtime (awslambdaric) does.

Handler-string resolution and its faults, the JSON a handler receives and returns
(simplejson, with the runtime's encoder settings), and the error payloads Lambda returns.
"""

from __future__ import annotations

import contextlib
import decimal
import importlib
import importlib.util
import linecache
import math
import os
import re
import sys
import traceback
from collections.abc import Callable
from types import ModuleType, TracebackType
from typing import Any

import simplejson
from simplejson import encoder as _json_encoder

from .errors import InvalidRequestContentException, LambdaUsageError, RequestTooLargeException

MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 1024 * 1024
# Lambda's documented limit on a synchronous response, as its error message states it.
MAX_RESPONSE_PAYLOAD = 6291556

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_PACKAGE_PREFIX = _PACKAGE_DIR + os.sep
_ERROR_INDENT = "\u00a0"
# traceback collapses a frame repeated more often than this into "[Previous line repeated ...]".
_RECURSIVE_CUTOFF = 3


class Fault(Exception):
    """A runtime fault (`Runtime.*`): the runtime's own error, not an exception of the handler."""

    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


# -- the handler string --------------------------------------------------------------------
def split_handler(handler: str) -> tuple[str, str]:
    """`"pkg.module.function"` -> (`"pkg.module"`, `"function"`), as `bootstrap._get_handler`."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as exc:
        raise Fault(Fault.MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': {exc}") from None
    return modname, fname


def load_module(modname: str) -> ModuleType:
    """A fresh instance of the module, its top-level code run (the init phase).

    The instance is not left in `sys.modules`: each execution environment has its own module
    globals, and the test's own `import app` is untouched. Exceptions the module's code
    raises propagate: they are init errors.
    """
    if modname.split(".")[0] in sys.builtin_module_names:
        raise Fault(
            Fault.BUILT_IN_MODULE_CONFLICT,
            f"Cannot use built-in module {modname} as a handler module",
        )
    dotted = modname.replace("/", ".")
    parent_name, _, child = dotted.rpartition(".")
    missing = object()
    try:
        spec = importlib.util.find_spec(dotted)
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"No module named '{dotted}'", name=dotted)
        # importlib.import_module, as the runtime loads it: an exception in init code then has
        # the importlib frames AWS shows in its stackTrace (`test_lambda_runtime_error`). While
        # its code runs the module is importable by name (dataclasses and typing look it up
        # there); afterwards whatever was there before is put back, here and on its package.
        previous = sys.modules.pop(dotted, missing)
        parent = sys.modules.get(parent_name) if parent_name else None
        previous_attribute = getattr(parent, child, missing) if parent is not None else missing
        try:
            module = importlib.import_module(dotted)
        finally:
            if previous is missing:
                sys.modules.pop(dotted, None)
            else:
                sys.modules[dotted] = previous  # type: ignore[assignment]
            if parent is not None:
                if previous_attribute is missing:
                    with contextlib.suppress(AttributeError):
                        delattr(parent, child)
                else:
                    setattr(parent, child, previous_attribute)
    except ImportError as exc:
        raise Fault(
            Fault.IMPORT_MODULE_ERROR, f"Unable to import module '{modname}': {exc}"
        ) from exc
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise Fault(
            Fault.USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{modname}': {exc}", trace
        ) from exc
    return module


def get_handler(module: ModuleType, modname: str, fname: str) -> Any:
    try:
        return getattr(module, fname)
    except AttributeError:
        raise Fault(
            Fault.HANDLER_NOT_FOUND, f"Handler '{fname}' missing on module '{modname}'"
        ) from None


# -- payloads --------------------------------------------------------------------------------
class _Encoder(simplejson.JSONEncoder):
    """awslambdaric's encoder: Decimal as raw digits, NaN allowed, non-ASCII kept on 3.12+."""

    def __init__(self) -> None:
        super().__init__(
            use_decimal=False, allow_nan=True, ensure_ascii=sys.version_info < (3, 12)
        )

    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            if o.is_nan():
                return math.nan
            return simplejson.RawJSON(str(o))
        cls = type(o)
        if cls.__module__.startswith("freezegun"):
            # freezegun swaps datetime for FakeDatetime; AWS would name the real type.
            cls = next(base for base in cls.__mro__ if not base.__module__.startswith("freezegun"))
        raise TypeError(f"Object of type {cls.__name__} is not JSON serializable")


_ENCODER = _Encoder()
# A caller's event: plain JSON, as the Invoke API takes it.
_EVENT_ENCODER = simplejson.JSONEncoder(allow_nan=False)


def _flat_json(value: dict[Any, Any], quote: Callable[[str], str]) -> str | None:
    """The JSON text simplejson's encoder writes for a flat object, made directly: for a dict
    whose keys are `str` and whose values are `str`, `int`, `bool`, None or a list of `str`
    (error payloads, and most events), as its default separators and a string quoter (`quote`,
    the one the encoder itself would use) write it. None for anything else, which the encoder
    writes itself: simplejson builds its C encoder anew at every call, the larger part of what
    a small document costs."""
    parts = []
    for key, item in value.items():
        if type(key) is not str:
            return None
        kind = type(item)
        if kind is str:
            text = quote(item)
        elif kind is int:
            text = int.__repr__(item)
        elif kind is bool:
            text = "true" if item else "false"
        elif item is None:
            text = "null"
        elif kind is list:
            for element in item:
                if type(element) is not str:
                    return None
            text = "[" + ", ".join(map(quote, item)) + "]"
        else:
            return None
        parts.append(quote(key) + ": " + text)
    return "{" + ", ".join(parts) + "}"


def _quoter(encoder: simplejson.JSONEncoder) -> Callable[[str], str]:
    return (_json_encoder.encode_basestring_ascii if encoder.ensure_ascii
            else _json_encoder.encode_basestring)


_QUOTE = _quoter(_ENCODER)
_EVENT_QUOTE = _quoter(_EVENT_ENCODER)


def marshal_response(value: Any) -> bytes:
    """The response body the runtime posts: `bytes` as they are, anything else as JSON.

    Bytes that are not UTF-8 are a marshal error: Lambda's responses and the records built
    from them are text.
    """
    if isinstance(value, bytes):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Fault(Fault.MARSHAL_ERROR, f"Unable to marshal response: {exc}") from None
        return value
    try:
        text = _flat_json(value, _QUOTE) if type(value) is dict else None
        return (_ENCODER.encode(value) if text is None else text).encode("utf-8")
    except Exception as exc:
        raise Fault(Fault.MARSHAL_ERROR, f"Unable to marshal response: {exc}") from None


# What simplejson.loads(body) runs once its checks are done: the scanner of its default decoder.
_SCAN_ONCE = simplejson.JSONDecoder().scan_once
# First characters simplejson's decoder skips before the document (whitespace, a byte order mark).
_SKIPPED_FIRST = frozenset(" \t\n\r\ufeff\xef")


def unmarshal_request(body: bytes) -> Any:
    # The scanner straight away when the document starts at the first character and ends at the
    # last: then simplejson.loads returns what it returns, without its two whitespace matches
    # and its checks. Anything else (an error too) goes through simplejson.loads itself.
    if type(body) is bytes:
        try:
            text = body.decode("utf-8")
            if text and text[0] not in _SKIPPED_FIRST:
                value, end = _SCAN_ONCE(text, 0)
                if end == len(text):
                    return value
        except Exception:  # simplejson.loads below raises it again, in its own words
            pass
    try:
        return simplejson.loads(body)
    except Exception as exc:
        raise Fault(Fault.UNMARSHAL_ERROR, f"Unable to unmarshal input: {exc}") from None


# Lambda's front end parses request bodies with Jackson; its messages end with this location.
_JACKSON_LOCATION = ("\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` "
                     "disabled); line: {line}, column: {column}]")
_JACKSON_EXPECTED = ("(JSON String, Number, Array, Object or token 'null', 'true' or 'false')")


def invalid_request_content(body: bytes) -> InvalidRequestContentException | None:
    """The 400 Lambda answers for a request body that is not JSON, or None if it is JSON.

    The wording is Jackson's, as recorded on AWS for bodies that are not UTF-8
    [test_lambda.py::TestLambdaErrors::test_lambda_invoke_payload_encoding_error]; the other
    shapes (an unknown token, an unexpected character) follow the same parser's messages.
    """
    text: str | None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        text, bad = None, exc.start
    else:
        try:
            simplejson.loads(text, allow_nan=True)  # as before, and as json.loads
        except RecursionError:
            return None  # JSON too deep for Python: Lambda takes it, the runtime fails on it
        except ValueError as exc:
            bad = len(text[: getattr(exc, "pos", 0)].encode("utf-8"))
        else:
            return None
    significant = len(body) - len(body.lstrip())
    line = body.count(b"\n", 0, bad) + 1
    column = bad - (body.rfind(b"\n", 0, bad) + 1)
    byte = body[bad] if bad < len(body) else None
    if byte is None:
        detail = "Unexpected end-of-input: expected close marker for Object or Array"
        column += 1
    elif text is None and bad > significant:
        # Jackson reads on into the bad byte before it complains: one column further.
        detail = f"Invalid UTF-8 start byte 0x{byte:02x}"
        column += 2
    else:
        # The character where parsing stopped (a byte that is not UTF-8 is taken as itself).
        rest = body[bad:].decode("utf-8", "replace") if text is not None else chr(byte)
        token = re.match(r"[A-Za-z0-9_]+", rest)
        if token is not None:
            detail = f"Unrecognized token '{token[0]}': was expecting {_JACKSON_EXPECTED}"
            column += len(token[0]) + 1
        else:
            code = ord(rest[0])
            char = (f"(CTRL-CHAR, code {code})" if code < 0x20 or 0x7F <= code <= 0x9F
                    else f"'{rest[0]}' (code {code})")
            detail = f"Unexpected character ({char}): expected a valid value {_JACKSON_EXPECTED}"
            column += 1
    return InvalidRequestContentException(
        "Could not parse request body into json: Could not parse payload into json: "
        + detail + _JACKSON_LOCATION.format(line=line, column=column),
        "an event given as bytes must be JSON text in UTF-8 (json.dumps(event).encode()); "
        "pass the value itself and the plugin encodes it.",
    )


def encode_event(event: Any, *, limit: int, operation: str = "Invoke") -> bytes:
    """The request body for `event`: its JSON text (`bytes` are taken as JSON text already)."""
    if isinstance(event, bytes):
        # An empty payload is `{}`, as the Invoke API takes it.
        body = event if event.strip() else b"{}"
    else:
        try:
            text = _flat_json(event, _EVENT_QUOTE) if type(event) is dict else None
            body = (_EVENT_ENCODER.encode(event) if text is None else text).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise LambdaUsageError(
                f"The event is not JSON, so Lambda could not deliver it: {exc}. Lambda events are "
                "JSON documents. Fix: convert the value (for example datetime to an ISO string, set "
                "to list, Decimal to float or str) before invoking."
            ) from None
        except RecursionError:
            raise LambdaUsageError(
                "The event is nested too deeply to encode as JSON (deeper than Python's recursion "
                f"limit of {sys.getrecursionlimit()}). Fix: flatten the event; to see what the "
                "runtime does with such a document, pass its JSON text as bytes."
            ) from None
    if len(body) > limit:
        raise RequestTooLargeException(
            f"Request must be smaller than {limit} bytes for the {operation} operation",
            f"this event is {len(body)} bytes; send large data through S3 and pass its key.",
        )
    if isinstance(event, bytes):
        check_request_body(body)
    return body


def check_request_body(body: bytes) -> None:
    """Raise AWS's `InvalidRequestContentException` for a request body that is not JSON (the
    Lambda API's bodies through boto3; `invalid_request_content` words it)."""
    invalid = invalid_request_content(body)
    if invalid is not None:
        raise invalid


# Whether a code object's file is one of this package's, by absolute file name (a relative one
# depends on the working directory, so it is worked out each time).
_OURS: dict[str, bool] = {}


def _ours(filename: str) -> bool:
    ours = _OURS.get(filename)
    if ours is None:
        ours = os.path.abspath(filename).startswith(_PACKAGE_PREFIX)
        if os.path.isabs(filename):
            _OURS[filename] = ours
    return ours


def error_payload(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The payload of a function error, as `bootstrap.handle_event_request` builds it."""
    # The runtime drops its own frames (bootstrap.py) from the front; we drop ours, wherever
    # they are (the import guard wraps a loader). An init error keeps importlib's frames, as
    # on AWS.
    tb = exc.__traceback__
    trace = _stack_trace(tb) if getattr(sys, "tracebacklimit", None) is None else None
    if trace is None:
        # The limit counts every frame, ours too, as traceback.extract_tb counts them.
        frames = [(f.filename, f.lineno or 0, f.name, f.line) for f in traceback.extract_tb(tb)]
        trace = traceback.format_list([frame for frame in frames if not _ours(frame[0])])
    return make_error(str(exc), type(exc).__name__, trace, request_id)


def _stack_trace(tb: TracebackType | None) -> list[str] | None:
    """What `traceback.format_list` makes of `traceback.extract_tb`'s frames without ours, made
    directly: extract_tb's line lookups (`linecache`, each file checked once) without its
    column positions, and format_list's text for a frame. None when a frame needs traceback
    itself: a file name in <brackets>, a source line with characters that end lines for
    `str.splitlines`, no line number, or a frame repeated often enough to be collapsed."""
    kept: list[tuple[str, int, str]] = []
    repeats = 0
    while tb is not None:
        frame = tb.tb_frame
        code = frame.f_code
        filename = code.co_filename
        if not _ours(filename):
            lineno = tb.tb_lineno
            if lineno is None or filename.startswith("<"):
                return None
            linecache.lazycache(filename, frame.f_globals)
            entry = (filename, lineno, code.co_name)
            repeats = repeats + 1 if kept and kept[-1] == entry else 1
            if repeats > _RECURSIVE_CUTOFF:
                return None
            kept.append(entry)
        tb = tb.tb_next
    for filename in {filename for filename, _, _ in kept}:
        linecache.checkcache(filename)
    trace = []
    for filename, lineno, name in kept:
        line = linecache.getline(filename, lineno).strip()
        if not line:
            trace.append(f'  File "{filename}", line {lineno}, in {name}\n')
        elif line.isprintable():
            trace.append(f'  File "{filename}", line {lineno}, in {name}\n    {line}\n')
        else:
            return None
    return trace


def make_error(
    message: str, error_type: str, stack_trace: list[str], request_id: str
) -> dict[str, Any]:
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id,
        "stackTrace": stack_trace or [],
    }


EXIT_ERROR = "Runtime.ExitError"


def exit_payload(request_id: str, reason: str) -> dict[str, Any]:
    """The payload when the runtime process ended (`exits.exit_reason` words `reason`)."""
    return {"errorType": EXIT_ERROR, "errorMessage": f"RequestId: {request_id} Error: {reason}"}


def timeout_payload(request_id: str, timeout: float) -> dict[str, Any]:
    # errorType first: Lambda's own payload, in its order (`test_lambda_invoke_with_timeout`).
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
    }


def response_too_large_payload() -> dict[str, Any]:
    # The limit, not the response's size: AWS's text (`test_lambda_too_large_response`).
    return {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_PAYLOAD} bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


def error_document(function_error: str | None, response: bytes) -> dict[str, Any] | None:
    """The error document of an invocation's response: None if it did not fail, or if its
    response is not a JSON object."""
    if function_error is None:
        return None
    try:
        decoded = unmarshal_request(response)
    except Fault:
        return None
    return decoded if isinstance(decoded, dict) else None


def error_log_lines(payload: dict[str, Any]) -> str:
    """The `[ERROR]` block the runtime writes to the log for a function error."""
    line = "[ERROR]"
    if payload.get("errorType"):
        line += " " + payload["errorType"]
    if payload.get("errorMessage"):
        line += (":" if payload.get("errorType") else "") + " " + payload["errorMessage"]
    lines = [line]
    trace = payload.get("stackTrace")
    if trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in trace:
            known = _TRACE_LINES.get(element) if type(element) is str else None
            lines.extend(_trace_lines(element) if known is None else known)
    return "\n".join(lines) + "\n"


# The log lines of each stack-trace element seen lately: a failing line of code fails again and
# again (a retried event, a drain), and its element is the same text each time.
_TRACE_LINES: dict[str, tuple[str, ...]] = {}
_TRACE_LINES_KEPT = 256


def _trace_lines(element: str) -> tuple[str, ...]:
    # The runtime indents traceback lines with no-break spaces, so that CloudWatch keeps the
    # block one event (`test_invocation_type_event_error`).
    lines = tuple(_ERROR_INDENT * (len(text) - len(text.lstrip(" "))) + text.lstrip(" ")
                  for text in element.splitlines())
    if type(element) is str:
        if len(_TRACE_LINES) >= _TRACE_LINES_KEPT:
            _TRACE_LINES.clear()
        _TRACE_LINES[element] = lines
    return lines
