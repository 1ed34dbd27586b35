"""A FastAPI app behind Mangum (fastapi_app.py), invoked with API Gateway REST (v1) and HTTP
API (v2) events: async and sync routes, a background task that finishes inside the invocation
and one that leaks."""

import json

import pytest

HANDLER = "fastapi_app.handler"


def rest_api_event(method, path, body=None):
    """API Gateway REST API (payload format 1.0)."""
    return {
        "resource": "/{proxy+}", "path": path, "httpMethod": method,
        "headers": {"host": "api.example.com", "content-type": "application/json"},
        "multiValueHeaders": {}, "queryStringParameters": None,
        "multiValueQueryStringParameters": None, "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None, "isBase64Encoded": False,
        "body": json.dumps(body) if body is not None else None,
        "requestContext": {"resourcePath": "/{proxy+}", "httpMethod": method, "path": f"/prod{path}",
                           "stage": "prod", "requestId": "r-1", "accountId": "123456789012",
                           "identity": {"sourceIp": "203.0.113.9"}},
    }


def http_api_event(method, path, query=""):
    """API Gateway HTTP API (payload format 2.0)."""
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"host": "api.example.com"}, "isBase64Encoded": False,
        "requestContext": {"accountId": "123456789012", "apiId": "api", "stage": "$default",
                           "requestId": "r-2", "domainName": "api.example.com",
                           "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "203.0.113.9", "userAgent": "pytest"}},
    }


@pytest.fixture
def api(lambda_invoker):
    return lambda_invoker.deploy(HANDLER, name="orders-api", timeout=10)


def test_an_async_route_through_the_rest_api(api):
    result = api.invoke(rest_api_event("GET", "/items/7"))
    assert result.payload["statusCode"] == 200
    assert json.loads(result.payload["body"]) == {"item_id": 7, "q": None}


def test_an_async_route_through_the_http_api(api):
    result = api.invoke(http_api_event("GET", "/items/8", "q=shoes"))
    assert result.payload["statusCode"] == 200
    assert json.loads(result.payload["body"]) == {"item_id": 8, "q": "shoes"}


@pytest.mark.parametrize("event", [rest_api_event("GET", "/health"), http_api_event("GET", "/health")])
def test_a_sync_route(api, event):
    result = api.invoke(event)
    assert (result.payload["statusCode"], json.loads(result.payload["body"])) == (200, {"status": "ok"})


def test_a_background_task_finishes_inside_the_invocation(api):
    result = api.invoke(http_api_event("POST", "/orders/o-1"))
    assert json.loads(result.payload["body"]) == {"order": "o-1", "status": "accepted"}
    assert "audited order o-1" in result.log_result  # Mangum waited for it


@pytest.mark.lambda_leaks(mode="warn")
@pytest.mark.filterwarnings("ignore::pytest_lambda_async.LambdaLeakWarning")
def test_a_task_nothing_awaits_is_caught(api, lambda_leaks):
    result = api.invoke(rest_api_event("POST", "/orders/o-2/fire-and-forget"))
    assert result.payload["statusCode"] == 200  # the client got its answer...
    assert "audited" not in result.log_result  # ...and the audit write never happened
    [finding] = lambda_leaks.findings
    assert finding.kind == "pending-task" and finding.name == "audit"
    assert finding.site.endswith("fastapi_app.py:42")
