"""Conformance: the plugin answers as AWS was recorded answering.

How this file was made: LocalStack's snapshot tests ran against AWS (2023-2025) and stored what
AWS answered. `recordings/extract.py` copied the recorded content of the cases below from those
snapshot files, unchanged, into `recordings/localstack_snapshots.json` (the commit is in its
`source`). Each test here names its source test, runs the same scenario through the plugin
(directly with `fn.invoke`/`invoke_async`, or through boto3 under `mock_aws`, or both) and
compares field by field with `recorded.Matcher`: the values, the format of ids and timestamps,
and the key order wherever AWS's JSON order is observable (an invoke's payload, a JSON
document in a message body). A boto3 response dict is built by botocore, so there only the
keys are compared, not their order. Where the plugin keeps a behaviour the recordings do not
settle, the test says so.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import recording_handlers
from aws_support import REGION, Clients
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from recorded import Matcher, log_text, recording

from pytest_lambda_async import TooManyRequestsException

ACCOUNT = "123456789012"  # moto's default account; 111111111111 in the recordings
LAMBDA = "lambda_/test_lambda.py::"
LAMBDA_API = "lambda_/test_lambda_api.py::TestLambdaEventInvokeConfig::"


@pytest.fixture
def aws() -> Iterator[Clients]:
    with mock_aws():
        yield Clients()


def matcher(**bound: str) -> Matcher:
    return Matcher(region=REGION, account=ACCOUNT, bound=bound)


def read(response: dict[str, Any]) -> dict[str, Any]:
    """A boto3 Invoke response with its Payload read: JSON as JSON (key order kept)."""
    response = dict(response)
    raw = response["Payload"].read()
    response["Payload"] = json.loads(raw) if raw else ""
    response["_raw"] = raw
    return response


def match_response(m: Matcher, response: dict[str, Any], recorded: dict[str, Any]) -> None:
    """An invoke response: its payload in AWS's key order, the rest by key."""
    payload = response.pop("Payload", None)
    raw = response.pop("_raw", None)
    recorded = dict(recorded)
    recorded_payload = recorded.pop("Payload", None)
    if isinstance(recorded_payload, str) and recorded_payload:
        m.match_text(raw.decode(), recorded_payload, path="$.Payload")
    elif recorded_payload is not None:
        m.match(payload, recorded_payload, path="$.Payload")
    m.match(response, recorded, ordered=False)


def client_error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return dict(caught.value.response)


# -- test_lambda.py: the runtime's answers --------------------------------------------------------
TIMEOUT = LAMBDA + "TestLambdaBehavior::test_lambda_invoke_with_timeout"


@pytest.mark.parametrize("handler", ["sleep_past_timeout", "async_sleep_past_timeout"])
def test_timeout_payload_direct(lambda_invoker, handler):
    # source: TestLambdaBehavior::test_lambda_invoke_with_timeout (errorType comes first)
    recorded = recording(TIMEOUT)["invoke-result"]
    result = lambda_invoker.deploy(f"recording_handlers.{handler}", timeout=1).invoke({})
    m = matcher(**{"<timeout_error_msg>": result.request_id})
    m.match(json.loads(result.raw_payload), recorded["Payload"])
    assert (result.status_code, result.function_error, result.executed_version) == (
        recorded["StatusCode"], recorded["FunctionError"], recorded["ExecutedVersion"])


def test_timeout_payload_through_boto3(aws, lambda_invoker):
    # source: TestLambdaBehavior::test_lambda_invoke_with_timeout
    aws.create_function("timeout", "recording_handlers.sleep_past_timeout", Timeout=1)
    response = read(aws.lam.invoke(FunctionName="timeout", Payload=b"{}"))
    m = matcher(**{"<timeout_error_msg>": response["ResponseMetadata"]["RequestId"]})
    match_response(m, response, recording(TIMEOUT)["invoke-result"])


TOO_LARGE = LAMBDA + "TestLambdaBaseFeatures::test_lambda_too_large_response"


def test_response_too_large_twice_direct(lambda_invoker):
    # source: TestLambdaBaseFeatures::test_lambda_too_large_response (AWS's limit, not the size)
    recorded = recording(TOO_LARGE)
    fn = lambda_invoker.deploy("recording_handlers.too_large")
    for key in ("invoke_result", "invoke_result_2"):
        result = fn.invoke({})
        matcher().match(json.loads(result.raw_payload), recorded[key]["Payload"])
        assert result.function_error == recorded[key]["FunctionError"]


def test_response_too_large_twice_through_boto3(aws, lambda_invoker):
    # source: TestLambdaBaseFeatures::test_lambda_too_large_response
    recorded = recording(TOO_LARGE)
    aws.create_function("large", "recording_handlers.too_large")
    for key in ("invoke_result", "invoke_result_2"):
        match_response(matcher(), read(aws.lam.invoke(FunctionName="large")), recorded[key])


RUNTIME_ERROR = LAMBDA + "TestLambdaErrors::test_lambda_runtime_error"
_FRAME = re.compile(r'  File "(?P<file>[^"]+)", line \d+, in (?P<function>\S+)\n(?P<source>.*)',
                    re.DOTALL)


def frames(trace: list[str]) -> list[tuple[str, str, str]]:
    """Each stackTrace entry as (file as AWS's shape shows it, function, source line)."""
    shaped = []
    for entry in trace:
        found = _FRAME.fullmatch(entry)
        assert found is not None, entry
        file = found["file"]
        if file.endswith("importlib/__init__.py"):
            file = "importlib/__init__.py"
        elif not file.startswith("<frozen"):
            file = "<the handler's module>"
        shaped.append((file, found["function"], found["source"].strip()))
    return shaped


def check_init_error(m: Matcher, payload: dict[str, Any]) -> None:
    recorded = recording(RUNTIME_ERROR)["invocation_error"]["Payload"]
    assert frames(payload["stackTrace"]) == frames(recorded["stackTrace"])  # 8 frames
    m.match({**payload, "stackTrace": []}, {**recorded, "stackTrace": []})  # values, key order


def test_init_error_stack_trace_direct(lambda_invoker):
    # source: TestLambdaErrors::test_lambda_runtime_error (importlib's frames first, as on AWS)
    result = lambda_invoker.deploy("recording_init_error.handler").invoke({})
    check_init_error(matcher(), json.loads(result.raw_payload))
    assert result.function_error == "Unhandled"


def test_init_error_stack_trace_through_boto3(aws, lambda_invoker):
    # source: TestLambdaErrors::test_lambda_runtime_error
    aws.create_function("init-error", "recording_init_error.handler")
    response = read(aws.lam.invoke(FunctionName="init-error"))
    check_init_error(matcher(), response["Payload"])
    recorded = recording(RUNTIME_ERROR)["invocation_error"]
    match_response(matcher(), {**response, "Payload": None},
                   {**recorded, "Payload": None})


RESERVED = LAMBDA + "TestLambdaConcurrency::test_reserved_concurrency"
ASYNC_QUEUE = LAMBDA + "TestLambdaConcurrency::test_reserved_concurrency_async_queue"


def check_throttle(exc: TooManyRequestsException, recorded: dict[str, Any]) -> None:
    assert (exc.code, exc.status_code) == (recorded["Error"]["Code"],
                                           recorded["ResponseMetadata"]["HTTPStatusCode"])
    assert exc.aws_message == recorded["Error"]["Message"]
    body = {k: v for k, v in recorded.items() if k not in ("Error", "ResponseMetadata")}
    matcher().match(exc.body(), body, ordered=False)  # Type, message, Reason


def test_zero_reserved_concurrency_throttles_direct(lambda_invoker):
    # source: TestLambdaConcurrency::test_reserved_concurrency, even with a warm environment
    fn = lambda_invoker.deploy("recording_handlers.echo_print")
    fn.invoke({})
    fn.reconfigure(reserved_concurrent_executions=0)
    with pytest.raises(TooManyRequestsException) as caught:
        fn.invoke({})
    check_throttle(caught.value, recording(RESERVED)["exc_no_cap_requestresponse"])


def test_zero_reserved_concurrency_through_boto3(aws, lambda_invoker):
    # source: TestLambdaConcurrency::test_reserved_concurrency
    recorded = recording(RESERVED)
    name = "reserved"
    m = matcher(**{"<function-name:1>": name})
    arn = aws.create_function(name, "recording_handlers.echo_print", Timeout=20)
    put = aws.lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    m.match(put, recorded["put_reserved"], ordered=False)
    m.match(client_error(aws.lam.invoke, FunctionName=f"{arn}:$LATEST"),
            recorded["exc_no_cap_requestresponse"], ordered=False)

    url, queue_arn = aws.queue("reserved-failures")
    m.bound["<resource:3>"] = "reserved-failures"
    conf = aws.lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    m.match(conf, recorded["put_event_invoke_conf"], ordered=False)
    invoked = read(aws.lam.invoke(FunctionName=f"{arn}:$LATEST", InvocationType="Event"))
    match_response(m, invoked, recorded["invoke_result"])
    lambda_invoker.run_until_idle()

    (message,) = aws.receive(url)
    m.bound["<uuid:2>"] = invoked["ResponseMetadata"]["RequestId"]
    expected = dict(recorded["msg"])
    # LocalStack skips AWSTraceHeader (`skip_snapshot_verify`): moto's SQS does not set it.
    expected["Attributes"] = {k: v for k, v in expected["Attributes"].items()
                              if k != "AWSTraceHeader"}
    m.match(json.loads(message["Body"]), expected.pop("Body"))  # the record, in AWS's order
    m.match({**message, "Body": None}, {**expected, "Body": None}, ordered=False)


@pytest.mark.parametrize("path", ["direct", "boto3"])
def test_throttled_while_an_async_event_runs(aws, lambda_invoker, lambda_clock, path):
    # source: TestLambdaConcurrency::test_reserved_concurrency_async_queue: reserved 1, one
    # event running, a second one waiting, and a synchronous invoke refused.
    recorded = recording(ASYNC_QUEUE)
    m = matcher()
    if path == "direct":
        fn = lambda_invoker.deploy("recording_handlers.wait_then_answer", timeout=30,
                                   reserved_concurrent_executions=1)
        fn.invoke({})
        one, two = fn.invoke_async({"wait": 15}), fn.invoke_async({})
        lambda_clock.advance(1)
        with pytest.raises(TooManyRequestsException) as caught:
            fn.invoke({})
        check_throttle(caught.value, recorded["too_many_requests_exc"])
        fn.reconfigure(reserved_concurrent_executions=3)
        final = fn.invoke({}).request_id
        ids = [one.request_id, two.request_id]
    else:
        arn = aws.create_function("queue", "recording_handlers.wait_then_answer", Timeout=30)
        put = aws.lam.put_function_concurrency(FunctionName="queue", ReservedConcurrentExecutions=1)
        m.match(put, recorded["put_fn_concurrency"], ordered=False)
        assert "FunctionError" not in aws.lam.invoke(FunctionName=arn)
        ids = [aws.lam.invoke(FunctionName=arn, InvocationType="Event", Payload=payload)
               ["ResponseMetadata"]["RequestId"] for payload in (b'{"wait": 15}', b"{}")]
        lambda_clock.advance(1)
        m.match(client_error(aws.lam.invoke, FunctionName=arn),
                recorded["too_many_requests_exc"], ordered=False)
        aws.lam.put_function_concurrency(FunctionName="queue", ReservedConcurrentExecutions=3)
        final = aws.lam.invoke(FunctionName=arn)["ResponseMetadata"]["RequestId"]
    outcomes = lambda_invoker.run_until_idle()
    # Each event's answer names the request id its handler saw.
    assert sorted(o.payload["request_id"] for o in outcomes) == sorted(ids)
    assert final not in ids


ENCODING = LAMBDA + "TestLambdaErrors::test_lambda_invoke_payload_encoding_error"


@pytest.mark.parametrize(("case", "payload"), [
    ("[body-n\\x87r\\x9e\\xe9\\xb5\\xd7I\\xee\\x9bmt]", b"n\x87r\x9e\xe9\xb5\xd7I\xee\x9bmt"),
    ("[message-\\x99\\xeb,j\\x07\\xa1zYh]", b"\x99\xeb,j\x07\xa1zYh"),
])
def test_body_that_is_not_utf8_through_boto3(aws, lambda_invoker, case, payload):
    # source: TestLambdaErrors::test_lambda_invoke_payload_encoding_error (both recorded bodies)
    (recorded,) = recording(ENCODING + case).values()
    aws.create_function("encoding", "recording_handlers.echo_print")
    matcher().match(client_error(aws.lam.invoke, FunctionName="encoding", Payload=payload),
                    recorded, ordered=False)
    assert lambda_invoker.history == []


def test_unknown_function_through_boto3(aws, lambda_invoker):
    # source: TestLambdaFeatures::test_invoke_exceptions (the ARN carries :$LATEST)
    recorded = recording(LAMBDA + "TestLambdaFeatures::test_invoke_exceptions")
    matcher().match(client_error(aws.lam.invoke, FunctionName="doesnotexist"),
                    recorded["invoke_function_doesnotexist"], ordered=False)


def test_every_lambda_error_carries_type_user(aws, lambda_invoker):
    # As every recorded Lambda error does (here one moto raises itself: GetFunction).
    response = client_error(aws.lam.get_function, FunctionName="doesnotexist")
    assert (response["Type"], response["Error"]["Code"]) == ("User", "ResourceNotFoundException")
    assert response["Message"] == response["Error"]["Message"]


# -- test_lambda.py: log text ----------------------------------------------------------------------
LOGS = LAMBDA + "TestLambdaFeatures::test_invocation_with_logs[python3.10]"


def after_init_start(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    assert re.fullmatch(r"INIT_START Runtime Version: python:3\.\d+\.v\d+\tRuntime Version ARN: "
                        rf"arn:aws:lambda:{REGION}::runtime:[0-9a-f]{{64}}\n", lines[0]), lines[0]
    return lines[1:]


@pytest.mark.parametrize("path", ["direct", "boto3"])
def test_log_result_lines(aws, lambda_invoker, path):
    # source: TestLambdaFeatures::test_invocation_with_logs (REPORT ends with a tab)
    recorded = recording(LOGS)
    if path == "direct":
        result = lambda_invoker.deploy("recording_handlers.echo_print").invoke({})
        log = result.log_result
        request_id = result.request_id
    else:
        aws.create_function("logs", "recording_handlers.echo_print")
        response = read(aws.lam.invoke(FunctionName="logs", Payload=b"{}", LogType="Tail"))
        log = base64.b64decode(response.pop("LogResult")).decode()
        request_id = response["ResponseMetadata"]["RequestId"]
        match_response(matcher(), response,
                       {k: v for k, v in recorded["invoke"].items() if k != "LogResult"})
    m = matcher(**{"<request-id>": request_id})
    m.match(after_init_start(log), [log_text(line) for line in recorded["logs"]["logs"]])


EVENT_ERROR = LAMBDA + "TestLambdaFeatures::test_invocation_type_event_error"


def test_async_error_log_blocks(aws, lambda_invoker):
    # source: TestLambdaFeatures::test_invocation_type_event_error: the first two attempts'
    # logs as CloudWatch holds them: traceback lines indented with U+00A0.
    recorded = recording(EVENT_ERROR)
    aws.create_function("event-error", "recording_handlers.raise_custom")
    response = read(aws.lam.invoke(FunctionName="event-error", Payload=b"{}",
                                   InvocationType="Event"))
    match_response(matcher(), response, recorded["invocation_response"])
    (outcome,) = lambda_invoker.run_until_idle()
    assert outcome.request_id == response["ResponseMetadata"]["RequestId"]

    line = inspect.getsourcelines(recording_handlers.raise_custom)[1] + 1
    here = f'"{recording_handlers.__file__}", line {line}, in raise_custom'
    expected = []
    for event in recorded["log_events"]:
        message = log_text(event["message"]).replace(
            '"/var/task/handler.py", line 6, in handler', here)
        # CloudWatch holds the error block as one event without a final newline.
        expected.extend((message if message.endswith("\n") else message + "\n")
                        .splitlines(keepends=True))
    logs = "".join(attempt.log_result for attempt in outcome.history[:2])
    m = matcher(**{"<request-id>": outcome.request_id})
    m.match(logs.splitlines(keepends=True), expected)


def test_request_id_in_payload_logs_and_response_metadata(aws, lambda_invoker):
    # source: TestRequestIdHandling::test_request_id_invoke: ResponseMetadata.RequestId is the
    # invocation's request id (moto's own is 52 characters).
    recorded = recording(LAMBDA + "TestRequestIdHandling::test_request_id_invoke")
    aws.create_function("request-id", "recording_handlers.log_request_id")
    response = read(aws.lam.invoke(FunctionName="request-id", LogType="Tail"))
    log = base64.b64decode(response.pop("LogResult")).decode()
    m = matcher(**{"<request-id>": response["ResponseMetadata"]["RequestId"]})
    match_response(m, response, recorded["invoke_result"])
    # The recording keeps each log event without trailing whitespace.
    m.match([line.rstrip() for line in after_init_start(log)],
            [log_text(line) for line in recorded["log_entries"]["logs"]])


def test_request_id_of_an_event_and_its_retry(aws, lambda_invoker):
    # source: TestRequestIdHandling::test_request_id_async_invoke_with_retry
    recorded = recording(LAMBDA + "TestRequestIdHandling::test_request_id_async_invoke_with_retry")
    aws.create_function("retried", "recording_handlers.raise_custom")
    aws.lam.put_function_event_invoke_config(FunctionName="retried", MaximumRetryAttempts=1)
    response = read(aws.lam.invoke(FunctionName="retried", InvocationType="Event"))
    m = matcher(**{"<request-id>": response["ResponseMetadata"]["RequestId"]})
    match_response(m, response, recorded["invoke_result"])
    (outcome,) = lambda_invoker.run_until_idle()
    ends = [line.rstrip() for attempt in outcome.history
            for line in attempt.log_result.splitlines() if line.startswith("END")]
    m.match(ends, recorded["end_messages"])


# -- test_lambda_api.py: the event-invoke-config API ---------------------------------------------
def test_event_invoke_config_errors_and_answers(aws, lambda_invoker):
    # source: TestLambdaEventInvokeConfig::test_lambda_eventinvokeconfig_exceptions, step by
    # step: every recorded error and every recorded answer.
    recorded = recording(LAMBDA_API + "test_lambda_eventinvokeconfig_exceptions")
    lam = boto3.client("lambda", region_name=REGION, config=Config(parameter_validation=False))
    name, other = "fn-eventinvoke", "fn-eventinvoke-2"
    m = matcher(**{"<function-name:1>": name, "<resource:5>": other})
    fn_arn = aws.create_function(name, "recording_handlers.echo_print")
    fn_arn_2 = aws.create_function(other, "recording_handlers.echo_print")
    aws.lam.invoke(FunctionName=name)  # runs in the invoker from now on
    version = lam.publish_version(FunctionName=name)["Version"]
    alias = lam.create_alias(FunctionName=name, Name="eventinvokealias",
                             FunctionVersion=version)
    fake_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:doesnotexist"
    put = lam.put_function_event_invoke_config

    def answer(key: str, call: Any = put, **kwargs: Any) -> None:
        m.match(call(**kwargs), recorded[key], ordered=False)

    def error(key: str, call: Any = put, **kwargs: Any) -> None:
        m.match(client_error(call, **kwargs), recorded[key], ordered=False)

    error("put_functionname_name_notfound", FunctionName="doesnotexist", MaximumRetryAttempts=1)
    error("put_functionname_arn_notfound", FunctionName=fake_arn, MaximumRetryAttempts=1)
    error("put_functionname_nootherargs", FunctionName="doesnotexist")
    error("put_destination_lambda_doesntexist", FunctionName=name,
          DestinationConfig={"OnSuccess": {"Destination": fake_arn}})
    error("put_destination_recursive", FunctionName=name,
          DestinationConfig={"OnSuccess": {"Destination": fn_arn}})
    answer("put_destination_other_lambda", FunctionName=name,
           DestinationConfig={"OnSuccess": {"Destination": fn_arn_2}})
    error("put_destination_invalid_service_arn", FunctionName=name,
          DestinationConfig={"OnSuccess": {"Destination": fn_arn.replace(":lambda:", ":iam:")}})
    answer("put_destination_success_no_destination_arn", FunctionName=name,
           DestinationConfig={"OnSuccess": {}})
    answer("put_destination_failure_no_destination_arn", FunctionName=name,
           DestinationConfig={"OnFailure": {}})
    error("put_destination_invalid_arn_pattern", FunctionName=name, DestinationConfig={
        "OnFailure": {"Destination": fn_arn.replace(":lambda:", ":_-/!lambda:")}})

    answer("put_destination_latest", FunctionName=name, MaximumRetryAttempts=1)
    answer("put_destination_latest_explicit_qualifier", FunctionName=name, Qualifier="$LATEST",
           MaximumRetryAttempts=1)
    answer("put_destination_version", FunctionName=name, Qualifier=version, MaximumRetryAttempts=1)
    answer("put_alias_functionname_qualifier", FunctionName=name, Qualifier="eventinvokealias",
           MaximumRetryAttempts=1)
    error("put_alias_doesnotexist", FunctionName=name, Qualifier="eventinvokealiasdoesnotexist",
          MaximumRetryAttempts=1)
    answer("put_alias_qualifiedarn", FunctionName=alias["AliasArn"], MaximumRetryAttempts=1)
    answer("put_alias_qualifiedarn_qualifier", FunctionName=alias["AliasArn"],
           Qualifier="eventinvokealias", MaximumRetryAttempts=1)
    error("put_alias_qualifiedarn_qualifierconflict", FunctionName=alias["AliasArn"],
          Qualifier="eventinvokealiasdoesnotexist", MaximumRetryAttempts=1)
    answer("put_alias_shorthand", FunctionName=f"{name}:eventinvokealias", MaximumRetryAttempts=1)
    answer("put_alias_shorthand_qualifier", FunctionName=f"{name}:eventinvokealias",
           Qualifier="eventinvokealias", MaximumRetryAttempts=1)
    error("put_alias_shorthand_qualifierconflict", FunctionName=f"{name}:eventinvokealias",
          Qualifier="eventinvokealiasdoesnotexist", MaximumRetryAttempts=1)
    answer("put_version_shorthand", FunctionName=f"{name}:{version}", MaximumRetryAttempts=1)
    answer("put_shorthand_qualifier_match", FunctionName=f"{name}:$LATEST", Qualifier="$LATEST",
           MaximumRetryAttempts=1)
    error("put_shorthand_qualifier_mismatch_1", FunctionName=f"{name}:{version}",
          Qualifier="$LATEST", MaximumRetryAttempts=1)
    error("put_shorthand_qualifier_mismatch_2", FunctionName=f"{name}:$LATEST",
          Qualifier=version, MaximumRetryAttempts=1)
    error("put_shorthand_qualifier_mismatch_3", FunctionName=f"{name}:{version}",
          Qualifier="eventinvokealias", MaximumRetryAttempts=1)
    answer("put_maxevent_maxvalue_result", FunctionName=name, MaximumRetryAttempts=2,
           MaximumEventAgeInSeconds=21600)

    # Put replaces the whole config; update merges into it.
    answer("put_pre_overwrite", FunctionName=name, MaximumRetryAttempts=2,
           MaximumEventAgeInSeconds=60)
    answer("put_post_overwrite", FunctionName=name, MaximumRetryAttempts=0)
    answer("second_overwrite_existing_response", FunctionName=name, MaximumRetryAttempts=0)
    answer("get_post_overwrite", lam.get_function_event_invoke_config, FunctionName=name)
    answer("pre_update_response", FunctionName=name, MaximumRetryAttempts=2,
           MaximumEventAgeInSeconds=60)
    update = lam.update_function_event_invoke_config
    answer("update_response", update, FunctionName=name, MaximumRetryAttempts=0)
    answer("update_response_existing", update, FunctionName=name, MaximumRetryAttempts=0)
    function = lambda_invoker.function_for_arn(fn_arn)
    assert function is not None  # the $LATEST config steers the invoker's function
    assert (function.settings.maximum_retry_attempts,
            function.settings.maximum_event_age_in_seconds) == (0, 60)

    listed = lam.list_function_event_invoke_configs(FunctionName=name)
    listed["FunctionEventInvokeConfigs"].sort(key=lambda c: c["FunctionArn"])  # as recorded
    m.match(listed, recorded["list_configs"], ordered=False)
    delete = lam.delete_function_event_invoke_config
    answer("delete_latest", delete, FunctionName=name, Qualifier="$LATEST")
    answer("delete_version", delete, FunctionName=name, Qualifier=version)
    answer("delete_alias", delete, FunctionName=name, Qualifier="eventinvokealias")
    answer("list_configs_postdelete", lam.list_function_event_invoke_configs, FunctionName=name)
    assert function.settings.maximum_retry_attempts == 2  # back to AWS's default

    error("delete_function_not_found", delete, FunctionName=name)
    error("delete_function_doesnotexist", delete, FunctionName="doesnotexist")
    error("list_function_doesnotexist", lam.list_function_event_invoke_configs,
          FunctionName="doesnotexist")
    get = lam.get_function_event_invoke_config
    error("get_function_doesnotexist", get, FunctionName="doesnotexist")
    error("get_qualifier_doesnotexist", get, FunctionName=name, Qualifier="doesnotexist")
    error("update_eventinvokeconfig_function_doesnotexist", update, FunctionName="doesnotexist",
          MaximumRetryAttempts=0)
    error("get_eventinvokeconfig_doesnotexist", get, FunctionName=alias["AliasArn"])
    error("update_eventinvokeconfig_config_doesnotexist_with_qualifier", update,
          FunctionName=alias["AliasArn"], MaximumRetryAttempts=0)
    error("update_eventinvokeconfig_config_doesnotexist_without_qualifier", update,
          FunctionName=fn_arn, MaximumRetryAttempts=0)


def test_event_invoke_config_lifecycle(aws, lambda_invoker):
    # source: TestLambdaEventInvokeConfig::test_lambda_eventinvokeconfig_lifecycle
    recorded = recording(LAMBDA_API + "test_lambda_eventinvokeconfig_lifecycle")
    name = "fn-lifecycle"
    m = matcher(**{"<function-name:1>": name})
    aws.create_function(name, "recording_handlers.echo_print")
    lam = aws.lam

    def answer(key: str, call: Any, **kwargs: Any) -> dict[str, Any]:
        response = call(**kwargs)
        m.match(response, recorded[key], ordered=False)
        return dict(response)

    answer("put_invokeconfig_retries_0", lam.put_function_event_invoke_config,
           FunctionName=name, MaximumRetryAttempts=0)
    answer("put_invokeconfig_eventage_60", lam.put_function_event_invoke_config,
           FunctionName=name, MaximumEventAgeInSeconds=60)
    answer("update_invokeconfig_eventage_nochange", lam.update_function_event_invoke_config,
           FunctionName=name, MaximumEventAgeInSeconds=60)
    answer("update_invokeconfig_retries", lam.update_function_event_invoke_config,
           FunctionName=name, MaximumRetryAttempts=1)
    answer("get_invokeconfig", lam.get_function_event_invoke_config, FunctionName=name)
    answer("get_invokeconfig_latest", lam.get_function_event_invoke_config, FunctionName=name,
           Qualifier="$LATEST")
    answer("list_single_invokeconfig", lam.list_function_event_invoke_configs, FunctionName=name)
    version = lam.publish_version(FunctionName=name)["Version"]
    m.match(client_error(lam.get_function_event_invoke_config, FunctionName=name,
                         Qualifier=version), recorded["get_invokeconfig_postpublish"],
            ordered=False)
    answer("put_published_invokeconfig", lam.put_function_event_invoke_config,
           FunctionName=name, Qualifier=version, MaximumEventAgeInSeconds=120)
    answer("get_published_invokeconfig", lam.get_function_event_invoke_config,
           FunctionName=name, Qualifier=version)
    first = lam.list_function_event_invoke_configs(FunctionName=name, MaxItems=1)
    rest = lam.list_function_event_invoke_configs(FunctionName=name, MaxItems=1,
                                                  Marker=first["NextMarker"])
    assert len(first["FunctionEventInvokeConfigs"] + rest["FunctionEventInvokeConfigs"]) == 2
    lam.delete_function_event_invoke_config(FunctionName=name)
    answer("list_paging_nolimit_postdelete", lam.list_function_event_invoke_configs,
           FunctionName=name)


# -- destinations ----------------------------------------------------------------------------------
EVENTBRIDGE = ("lambda_/test_lambda_destinations.py::TestLambdaDestinationEventbridge::"
               "test_invoke_lambda_eventbridge")


def test_eventbridge_destination_envelope(aws, lambda_invoker):
    # source: TestLambdaDestinationEventbridge::test_invoke_lambda_eventbridge: `source` is
    # "lambda", as recorded in November 2025 (AWS's docs say "aws.lambda").
    recorded = recording(EVENTBRIDGE)
    bus_arn = aws.events.create_event_bus(Name="results")["EventBusArn"]
    url, queue_arn = aws.queue("bus-target")
    aws.events.put_rule(Name="all", EventBusName="results",
                        EventPattern=json.dumps({"source": ["lambda"]}))
    aws.events.put_targets(Rule="all", EventBusName="results",
                           Targets=[{"Id": "q", "Arn": queue_arn}])
    name = "bus-source"
    aws.create_function(name, "recording_handlers.succeed_or_fail")
    aws.lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0,
        DestinationConfig={"OnSuccess": {"Destination": bus_arn},
                           "OnFailure": {"Destination": bus_arn}})
    m = matcher(**{"<input-fn-name>": name, "<event-bus-name>": "results"})
    for mode in ("success", "failure"):
        aws.lam.invoke(FunctionName=name, InvocationType="Event",
                       Payload=json.dumps({"mode": mode}).encode())
        lambda_invoker.run_until_idle()
        # The envelope the plugin put on the bus (also kept in memory, for every target).
        envelope = lambda_invoker.sinks[bus_arn].records[-1]
        expected = json.loads(json.dumps(recorded[f"lambda_destination_event_bus_{mode}"]))
        if mode == "failure":
            (frame,) = envelope["detail"]["responsePayload"]["stackTrace"]
            assert 'raise Exception("intentional failure!")' in frame  # one frame: the handler
            expected["detail"]["responsePayload"]["stackTrace"] = [frame]
        m.match(envelope, expected, ordered=False)  # LocalStack's snapshot sorts these keys
        # moto's rule delivered it on to the queue; moto's own template for an SQS target
        # leaves out `account` (moto's path, not the plugin's).
        (message,) = aws.receive(url)
        aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        delivered = json.loads(message["Body"])
        assert delivered["detail"] == envelope["detail"]
        assert (delivered["source"], delivered["detail-type"]) == (
            envelope["source"], envelope["detail-type"])


DLQ = "sns/test_sns.py::TestSNSSubscriptionLambda::test_sns_topic_as_lambda_dead_letter_queue"


def test_sns_topic_as_dead_letter_queue(aws, lambda_invoker):
    # source: TestSNSSubscriptionLambda::test_sns_topic_as_lambda_dead_letter_queue: the SQS
    # body's envelope says SignatureVersion "1".
    recorded = recording(DLQ)
    dlq_topic, dlq_url = aws.topic_into_queue("lambda-dlq", "dlq-messages", raw=False)
    source_topic = aws.sns.create_topic(Name="source")["TopicArn"]
    name = "dlq-fn"
    arn = aws.create_function(name, "recording_handlers.fail_with_event",
                              DeadLetterConfig={"TargetArn": dlq_topic})
    m = matcher(**{"<resource:1>": "lambda-dlq", "<resource:3>": "source"})
    m.match(aws.lam.get_function_configuration(FunctionName=name)["DeadLetterConfig"],
            recorded["lambda-response-dlq-config"])
    aws.lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    aws.sns.subscribe(TopicArn=source_topic, Protocol="lambda", Endpoint=arn)
    aws.sns.publish(TopicArn=source_topic, Message=json.dumps({"raise_error": 1}))
    lambda_invoker.run_until_idle()

    (message,) = aws.receive(dlq_url)
    body = json.loads(message["Body"])
    body["Message"] = json.loads(body["Message"])
    body["Message"]["Records"][0]["Sns"]["Message"] = json.loads(
        body["Message"]["Records"][0]["Sns"]["Message"])
    (expected,) = recorded["messages"]["Messages"]
    m.match(body, expected["Body"], ordered=False)  # LocalStack's snapshot sorts these keys
    # moto's own SNS deliveries keep its "2": only what Lambda publishes is changed.
    aws.sns.publish(TopicArn=dlq_topic, Message="plain")
    (plain,) = aws.receive(dlq_url)
    assert json.loads(plain["Body"])["SignatureVersion"] == "2"
