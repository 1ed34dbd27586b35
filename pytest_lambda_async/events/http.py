"""HTTP events: API Gateway REST (payload 1.0) and HTTP API (2.0) proxy events, ALB target
group events, Lambda Function URL events, and the responses a handler returns to each.

Shapes: AWS's recorded REST proxy event (LocalStack's AWS-validated snapshot), and AWS's
samples for HTTP API, ALB and Function URL events (`tests/test_events_recorded.py`)."""

from __future__ import annotations

import base64
import http
import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ._base import (
    EventSource,
    apply_overrides,
    b64_id,
    clf,
    encode_body,
    header_list,
    hex_id,
    lower_id,
    merge_headers,
    millis,
    multi_values,
    usage,
    uuid4,
)

Headers = Mapping[str, "str | list[str]"]
Query = "Mapping[str, str | list[str]] | str | None"
_USER_AGENT = "curl/8.5.0"
_SOURCE_IP = "203.0.113.10"  # an address reserved for documentation (RFC 5737)


def _query_pairs(factory: str, query: Any) -> list[tuple[str, list[str]]]:
    if query is None:
        return []
    if isinstance(query, str):
        pairs: dict[str, list[str]] = {}
        for name, value in parse_qsl(query.lstrip("?"), keep_blank_values=True):
            pairs.setdefault(name, []).append(value)
        return list(pairs.items())
    if not isinstance(query, Mapping):
        raise usage(factory, "query", f"is {type(query).__name__}.",
                    "pass a dict of str (or lists of str), or a query string such as 'a=1&a=2'.")
    return multi_values(factory, "query", query, "give each parameter a str, or a non-empty list of str.")


def _trace_id(when: float) -> str:
    return f"Root=1-{int(when):08x}-{hex_id(24)}"


def _with_content_type(pairs: list[tuple[str, list[str]]], is_json: bool,
                       lower: bool) -> list[tuple[str, list[str]]]:
    if is_json and not any(n.lower() == "content-type" for n, _ in pairs):
        pairs = [*pairs, ("content-type" if lower else "Content-Type", ["application/json"])]
    return pairs


class HttpEvents(EventSource):
    """Factories for the events HTTP front doors send to a function."""

    # -- API Gateway REST API (payload format 1.0) --------------------------------------------
    def api_gateway_v1(
        self, method: str = "GET", path: str = "/", *, query: Any = None,
        headers: Headers | None = None, body: Any = None,
        path_parameters: Mapping[str, str] | None = None,
        stage_variables: Mapping[str, str] | None = None, resource: str | None = None,
        stage: str = "prod", api_id: str | None = None, claims: Mapping[str, Any] | None = None,
        authorizer: Mapping[str, Any] | None = None, source_ip: str = _SOURCE_IP,
        request_id: str | None = None, **fields: Any,
    ) -> dict[str, Any]:
        """A REST API Lambda proxy event. `body`: str as is, bytes base64, else JSON.
        `claims` are a Cognito user pool authorizer's; `authorizer` is any authorizer's context."""
        name = "api_gateway_v1"
        when = self.now()
        api_id = api_id or lower_id(10)
        domain = f"{api_id}.execute-api.{self.region}.amazonaws.com"
        text, is_b64, is_json = encode_body(name, "body", body)
        defaults = [("Accept", ["*/*"]), ("Host", [domain]), ("User-Agent", [_USER_AGENT]),
                    ("X-Amzn-Trace-Id", [_trace_id(when)]), ("X-Forwarded-For", [source_ip]),
                    ("X-Forwarded-Port", ["443"]), ("X-Forwarded-Proto", ["https"])]
        pairs = _with_content_type(merge_headers(defaults, header_list(name, headers)), is_json, False)
        query_pairs = _query_pairs(name, query)
        user_agent = next((v[-1] for n, v in pairs if n.lower() == "user-agent"), None)
        context: dict[str, Any] = {
            "accountId": self.account_id, "apiId": api_id,
        }
        if claims is not None or authorizer is not None:
            context["authorizer"] = {**(authorizer or {}),
                                     **({"claims": dict(claims)} if claims is not None else {})}
        context.update({
            "deploymentId": lower_id(6), "domainName": domain, "domainPrefix": api_id,
            "extendedRequestId": b64_id(12).replace("/", "-").replace("+", "_")[:15] + "=",
            "httpMethod": method,
            "identity": {
                "accessKey": None, "accountId": None, "caller": None,
                "cognitoAuthenticationProvider": None, "cognitoAuthenticationType": None,
                "cognitoIdentityId": None, "cognitoIdentityPoolId": None, "principalOrgId": None,
                "sourceIp": source_ip, "user": None, "userAgent": user_agent, "userArn": None,
            },
            "path": f"/{stage}{path}", "protocol": "HTTP/1.1",
            "requestId": request_id or uuid4(), "requestTime": clf(when),
            "requestTimeEpoch": millis(when), "resourceId": lower_id(6),
            "resourcePath": resource or path, "stage": stage,
        })
        # The order of AWS's documentation sample.
        event = {
            "resource": resource or path,
            "path": path,
            "httpMethod": method,
            "headers": {n: v[-1] for n, v in pairs},
            "multiValueHeaders": {n: list(v) for n, v in pairs},
            "queryStringParameters": {n: v[-1] for n, v in query_pairs} or None,
            "multiValueQueryStringParameters": {n: v for n, v in query_pairs} or None,
            "pathParameters": dict(path_parameters) if path_parameters else None,
            "stageVariables": dict(stage_variables) if stage_variables else None,
            "requestContext": context,
            "body": text,
            "isBase64Encoded": is_b64,
        }
        return apply_overrides(name, event, fields, _V1_KEYWORDS)

    # -- API Gateway HTTP API (payload format 2.0) and Function URLs ----------------------------
    def api_gateway_v2(
        self, method: str = "GET", path: str = "/", *, query: Any = None,
        headers: Headers | None = None, body: Any = None, cookies: Iterable[str] | None = None,
        path_parameters: Mapping[str, str] | None = None,
        stage_variables: Mapping[str, str] | None = None, route_key: str = "$default",
        stage: str = "$default", api_id: str | None = None, claims: Mapping[str, Any] | None = None,
        scopes: Iterable[str] | None = None, authorizer: Mapping[str, Any] | None = None,
        source_ip: str = _SOURCE_IP, request_id: str | None = None, **fields: Any,
    ) -> dict[str, Any]:
        """An HTTP API Lambda proxy event (payload format 2.0). `claims`/`scopes` are a JWT
        authorizer's; `authorizer` is any authorizer's context as API Gateway sends it."""
        name = "api_gateway_v2"
        api_id = api_id or lower_id(10)
        if claims is not None or scopes is not None:
            authorizer = {**(authorizer or {}), "jwt": {
                "claims": dict(claims or {}), "scopes": list(scopes) if scopes is not None else None}}
        event = self._v2_event(
            name, method, path, query, headers, body, cookies, route_key=route_key, stage=stage,
            api_id=api_id, domain=f"{api_id}.execute-api.{self.region}.amazonaws.com",
            authorizer=authorizer, source_ip=source_ip, request_id=request_id)
        if path_parameters:
            event["pathParameters"] = dict(path_parameters)
        if stage_variables:
            event["stageVariables"] = dict(stage_variables)
        return apply_overrides(name, event, fields, _V2_KEYWORDS)

    def function_url(
        self, method: str = "GET", path: str = "/", *, query: Any = None,
        headers: Headers | None = None, body: Any = None, cookies: Iterable[str] | None = None,
        url_id: str | None = None, iam: Mapping[str, Any] | None = None,
        source_ip: str = _SOURCE_IP, request_id: str | None = None, **fields: Any,
    ) -> dict[str, Any]:
        """A Lambda Function URL event. `iam` (the caller's IAM identity) means AuthType AWS_IAM."""
        name = "function_url"
        url_id = url_id or lower_id(32)
        authorizer = None
        if iam is not None:
            caller = iam.get("callerId", "AIDACKCEVSQ6C2EXAMPLE")
            authorizer = {"iam": {
                "accessKey": "AKIAIOSFODNN7EXAMPLE", "accountId": self.account_id,
                "callerId": caller, "cognitoIdentity": None, "principalOrgId": None,
                "userArn": f"arn:aws:iam::{self.account_id}:user/example-user",
                "userId": caller, **iam}}
        event = self._v2_event(
            name, method, path, query, headers, body, cookies, route_key="$default",
            stage="$default", api_id=url_id, domain=f"{url_id}.lambda-url.{self.region}.on.aws",
            authorizer=authorizer, source_ip=source_ip, request_id=request_id or uuid4())
        return apply_overrides(name, event, fields, _URL_KEYWORDS)

    def _v2_event(self, name: str, method: str, path: str, query: Any, headers: Headers | None,
                  body: Any, cookies: Iterable[str] | None, *, route_key: str, stage: str,
                  api_id: str, domain: str, authorizer: Mapping[str, Any] | None, source_ip: str,
                  request_id: str | None) -> dict[str, Any]:
        when = self.now()
        text, is_b64, is_json = encode_body(name, "body", body)
        given = [(n.lower(), v) for n, v in header_list(name, headers)]
        defaults = [("accept", ["*/*"]), ("content-length", [str(len(_raw(text, is_b64)))]),
                    ("host", [domain]), ("user-agent", [_USER_AGENT]),
                    ("x-amzn-trace-id", [_trace_id(when)]), ("x-forwarded-for", [source_ip]),
                    ("x-forwarded-port", ["443"]), ("x-forwarded-proto", ["https"])]
        pairs = _with_content_type(merge_headers(defaults, given), is_json, True)
        query_pairs = _query_pairs(name, query)
        headers_out = {n: ",".join(v) for n, v in pairs}
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": urlencode([(n, v) for n, vs in query_pairs for v in vs]),
        }
        if cookies is not None:
            event["cookies"] = list(cookies)
        event["headers"] = headers_out
        if query_pairs:
            event["queryStringParameters"] = {n: ",".join(v) for n, v in query_pairs}
        context: dict[str, Any] = {"accountId": self.account_id, "apiId": api_id}
        if authorizer is not None:
            context["authorizer"] = dict(authorizer)
        context.update({
            "domainName": domain, "domainPrefix": domain.split(".")[0],
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": source_ip, "userAgent": headers_out.get("user-agent", "")},
            "requestId": request_id or (b64_id(10)[:15] + "="), "routeKey": route_key,
            "stage": stage, "time": clf(when), "timeEpoch": millis(when),
        })
        event["requestContext"] = context
        if text is not None:
            event["body"] = text
        event["isBase64Encoded"] = is_b64
        return event

    # -- Application Load Balancer -----------------------------------------------------------
    def alb(
        self, method: str = "GET", path: str = "/", *, query: Any = None,
        headers: Headers | None = None, body: Any = None, multi_value_headers: bool = False,
        target_group: str = "lambda-target", **fields: Any,
    ) -> dict[str, Any]:
        """An ALB target group event; `multi_value_headers=True` when the target group has
        multi-value headers on (then headers and query come as lists)."""
        name = "alb"
        when = self.now()
        text, is_b64, is_json = encode_body(name, "body", body)
        host = f"{target_group}-{int(hex_id(8), 16)}.{self.region}.elb.amazonaws.com"
        given = [(n.lower(), v) for n, v in header_list(name, headers)]
        defaults = [("accept", ["*/*"]), ("host", [host]), ("user-agent", [_USER_AGENT]),
                    ("x-amzn-trace-id", [_trace_id(when)]), ("x-forwarded-for", [_SOURCE_IP]),
                    ("x-forwarded-port", ["80"]), ("x-forwarded-proto", ["http"])]
        pairs = _with_content_type(merge_headers(defaults, given), is_json, True)
        query_pairs = _query_pairs(name, query)
        arn = self.arn("elasticloadbalancing", f"targetgroup/{target_group}/{hex_id(16)}")
        event: dict[str, Any] = {"requestContext": {"elb": {"targetGroupArn": arn}},
                                 "httpMethod": method, "path": path}
        if multi_value_headers:
            event["multiValueQueryStringParameters"] = {n: v for n, v in query_pairs}
            event["multiValueHeaders"] = {n: list(v) for n, v in pairs}
        else:
            event["queryStringParameters"] = {n: v[-1] for n, v in query_pairs}
            event["headers"] = {n: v[-1] for n, v in pairs}
        event["body"] = text if text is not None else ""
        event["isBase64Encoded"] = is_b64
        return apply_overrides(name, event, fields, _ALB_KEYWORDS)


def _raw(text: str | None, is_b64: bool) -> bytes:
    if text is None:
        return b""
    return base64.b64decode(text) if is_b64 else text.encode("utf-8")


_COMMON = ("method", "path", "query", "headers", "body")
_V1_KEYWORDS = (*_COMMON, "path_parameters", "stage_variables", "resource", "stage", "api_id",
                "claims", "authorizer", "source_ip", "request_id")
_V2_KEYWORDS = (*_COMMON, "cookies", "path_parameters", "stage_variables", "route_key", "stage",
                "api_id", "claims", "scopes", "authorizer", "source_ip", "request_id")
_URL_KEYWORDS = (*_COMMON, "cookies", "url_id", "iam", "source_ip", "request_id")
_ALB_KEYWORDS = (*_COMMON, "multi_value_headers", "target_group")


# -- responses ------------------------------------------------------------------------------------
def _response_body(factory: str, body: Any, headers: dict[str, Any]) -> tuple[str, bool]:
    text, is_b64, is_json = encode_body(factory, "body", body)
    if is_json and not any(n.lower() == "content-type" for n in headers):
        headers["Content-Type"] = "application/json"
    return (text or ""), is_b64


def api_gateway_response(status_code: int = 200, body: Any = None, *,
                         headers: Mapping[str, str] | None = None,
                         multi_value_headers: Mapping[str, list[str]] | None = None,
                         ) -> dict[str, Any]:
    """What a REST API (payload 1.0) handler returns. `body`: str, bytes (base64) or JSON."""
    out_headers = dict(headers or {})
    text, is_b64 = _response_body("api_gateway_response", body, out_headers)
    response: dict[str, Any] = {"statusCode": status_code, "headers": out_headers}
    if multi_value_headers is not None:
        response["multiValueHeaders"] = {n: list(v) for n, v in multi_value_headers.items()}
    response.update({"body": text, "isBase64Encoded": is_b64})
    return response


def http_api_response(status_code: int = 200, body: Any = None, *,
                      headers: Mapping[str, str] | None = None,
                      cookies: Iterable[str] | None = None) -> dict[str, Any]:
    """What an HTTP API (payload 2.0) or Function URL handler returns; each cookie becomes a
    Set-Cookie header."""
    out_headers = dict(headers or {})
    text, is_b64 = _response_body("http_api_response", body, out_headers)
    response: dict[str, Any] = {"statusCode": status_code, "headers": out_headers}
    if cookies is not None:
        response["cookies"] = list(cookies)
    response.update({"body": text, "isBase64Encoded": is_b64})
    return response


function_url_response = http_api_response


def alb_response(status_code: int = 200, body: Any = None, *,
                 headers: Mapping[str, str | list[str]] | None = None,
                 multi_value_headers: bool = False) -> dict[str, Any]:
    """What an ALB target returns: with `statusDescription`, and `multiValueHeaders` when the
    target group has multi-value headers on."""
    single: dict[str, Any] = {}
    multi: dict[str, list[str]] = {}
    for name, value in (headers or {}).items():
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        single[name], multi[name] = values[-1], values
    text, is_b64 = _response_body("alb_response", body, single)
    for name in single:
        multi.setdefault(name, [single[name]])
    try:
        reason = http.HTTPStatus(status_code).phrase
    except ValueError:
        reason = ""
    response: dict[str, Any] = {"statusCode": status_code,
                                "statusDescription": f"{status_code} {reason}".strip()}
    if multi_value_headers:
        response["multiValueHeaders"] = multi
    else:
        response["headers"] = single
    response.update({"body": text, "isBase64Encoded": is_b64})
    return response


def json_body(event_or_response: Mapping[str, Any]) -> Any:
    """The JSON a request event or a response carries in `body` (base64 undone)."""
    body = event_or_response.get("body")
    if event_or_response.get("isBase64Encoded"):
        body = base64.b64decode(body or "")
    return json.loads(body) if body else None
