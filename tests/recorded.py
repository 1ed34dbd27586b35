"""AWS's recorded answers (LocalStack's AWS-validated snapshots) and a field-by-field matcher.

`recordings/localstack_snapshots.json` holds the recorded content of the cases the suite
replays, copied unchanged from LocalStack's snapshot files by `recordings/extract.py`. In a
snapshot LocalStack replaced what changes from run to run with placeholders: `<request-id>`,
`<uuid:1>`, `<function-name:1>`, `<region>`, `<partition>`, account `111111111111`, `date`...
`match` reads them back as patterns: the same numbered placeholder must stand for the same
value everywhere in a case, a uuid placeholder for a UUID, a date for an ISO timestamp.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

SNAPSHOTS = Path(__file__).parent / "recordings" / "localstack_snapshots.json"
_DATA = json.loads(SNAPSHOTS.read_text(encoding="utf-8"))
SOURCE = str(_DATA["source"])

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
ISO_MS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
ISO_S = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
_PLACEHOLDER = re.compile(r"<([a-z][a-z0-9_-]*)(?::(\d+))?>")
_PATTERNS = {
    "request-id": UUID, "uuid": UUID, "timeout_error_msg": UUID,
    "duration": r"\d+(?:\.\d+)?", "memory": r"\d+",
    "partition": "aws",
    "runtime-version": r"3\.\d+\.v\d+",
    "log-date": ISO_MS,
    "signature": r"[A-Za-z0-9+/=]+",
    "signing-cert-file": r"[\w-]+\.pem",
    "cert-domain": r"https://sns\.[a-z0-9-]+\.amazonaws\.com",
    "unsubscribe-domain": r"https://sns\.[a-z0-9-]+\.amazonaws\.com",
}
# Placeholders that may stand for different values: moto signs each SNS delivery with its own
# certificate file, and the Lambda event the plugin builds names another one.
_UNBOUND = {"<signing-cert-file:1>", "<signature>", "<duration>", "<memory>"}
_ANY = r"[^:/\s]+"
# Whole values LocalStack replaced: what each must look like here.
_WHOLE = {"date": (ISO_MS, ISO_S), "datetime": (ISO_MS, ISO_S), "timestamp": (r"\d+", ISO_MS)}


def log_text(recorded: str) -> str:
    """A recorded log line with its numbers as placeholders (LocalStack left some literal)."""
    text = re.sub(r"(Duration|Billed Duration|Init Duration): [\d.]+ ms", r"\1: <duration> ms",
                  recorded)
    text = re.sub(r"Max Memory Used: \d+ MB", "Max Memory Used: <memory> MB", text)
    text = re.sub(r"python:3\.\d+\.v\d+", "python:<runtime-version>", text)
    return text.replace("\tdate\t", "\t<log-date>\t")


def recording(case: str) -> dict[str, Any]:
    """The recorded content of `case` ("lambda_/test_lambda.py::TestX::test_y")."""
    return dict(_DATA["cases"][case]["recorded-content"])


class Matcher:
    """Matches values against recorded ones, binding each placeholder to one value."""

    def __init__(self, *, region: str, account: str, bound: dict[str, str] | None = None) -> None:
        self.region = region
        self.account = account
        # "<function-name:1>" -> value, "<request-id>" -> value (unnumbered: bound on first use)
        self.bound: dict[str, str] = dict(bound or {})

    def match(self, actual: Any, expected: Any, *, ordered: bool = True, path: str = "$") -> None:
        """Assert `actual` is `expected`, field by field; with `ordered`, keys in its order too."""
        if isinstance(expected, dict):
            assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
            if "ResponseMetadata" in expected:
                assert actual["ResponseMetadata"]["HTTPStatusCode"] == (
                    expected["ResponseMetadata"]["HTTPStatusCode"]), f"{path}: status"
            keys = [k for k in expected if k != "ResponseMetadata"]
            got = [k for k in actual if k != "ResponseMetadata"]
            if ordered:
                assert got == keys, f"{path}: keys {got} != recorded {keys}"
            else:
                assert sorted(got) == sorted(keys), f"{path}: keys {sorted(got)} != {sorted(keys)}"
            for key in keys:
                self.match(actual[key], expected[key], ordered=ordered, path=f"{path}.{key}")
        elif isinstance(expected, list):
            assert isinstance(actual, list) and len(actual) == len(expected), (
                f"{path}: {actual!r} != recorded {expected!r}")
            for n, (got, want) in enumerate(zip(actual, expected, strict=True)):
                self.match(got, want, ordered=ordered, path=f"{path}[{n}]")
        elif isinstance(expected, str):
            self.match_text(actual, expected, path=path)
        else:
            assert actual == expected, f"{path}: {actual!r} != recorded {expected!r}"

    def match_text(self, actual: Any, expected: str, *, path: str = "$") -> None:
        if expected in _WHOLE:
            if isinstance(actual, datetime.datetime):  # boto3 parsed the timestamp already
                return
            assert any(re.fullmatch(p, str(actual)) for p in _WHOLE[expected]), (
                f"{path}: {actual!r} is not a {expected}")
            return
        assert isinstance(actual, str), f"{path}: expected text, got {actual!r}"
        groups: list[str] = []
        pattern = ""
        last = 0
        text = expected.replace("111111111111", "<account>")
        for found in _PLACEHOLDER.finditer(text):
            pattern += re.escape(text[last:found.start()])
            last = found.end()
            token = found.group(0)
            if token == "<account>":
                pattern += re.escape(self.account)
            elif token == "<region>":
                pattern += re.escape(self.region)
            elif token in self.bound and token not in _UNBOUND:
                pattern += re.escape(self.bound[token])
            else:
                groups.append(token)
                pattern += "(" + _PATTERNS.get(found.group(1), _ANY) + ")"
        pattern += re.escape(text[last:])
        found_text = re.fullmatch(pattern, actual, flags=re.DOTALL)
        assert found_text is not None, f"{path}: {actual!r}\n  does not match recorded {expected!r}"
        for token, value in zip(groups, found_text.groups(), strict=True):
            # A numbered placeholder is one value everywhere; "<request-id>" too within a case.
            if token in _UNBOUND:
                continue
            if token in self.bound:
                assert self.bound[token] == value, f"{path}: {token} was {self.bound[token]!r}"
            else:
                self.bound[token] = value
