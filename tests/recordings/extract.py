"""Extract the recorded cases `test_aws_recordings.py` replays from LocalStack's AWS-validated
snapshot files (data only: recorded responses, never LocalStack's code). Run from the repository:

    python tests/recordings/extract.py LOCALSTACK_CHECKOUT > tests/recordings/localstack_snapshots.json

Each case keeps its recorded date and the recorded keys the suite compares against.
"""

import json
import subprocess
import sys

REPO = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror/localstack+localstack/repo"
BASE = "tests/aws/services/"
ENCODING_ERROR = "TestLambdaErrors::test_lambda_invoke_payload_encoding_error"
ALL_BUT_FUNCTIONS = "all recorded keys but the created functions"
WANTED: dict[str, dict[str, object]] = {
    "lambda_/test_lambda.snapshot.json": {
        "TestLambdaBehavior::test_lambda_invoke_with_timeout": ["invoke-result"],
        "TestLambdaBaseFeatures::test_lambda_too_large_response": ["invoke_result", "invoke_result_2"],
        "TestLambdaErrors::test_lambda_runtime_error": ["invocation_error"],
        "TestLambdaConcurrency::test_reserved_concurrency": [
            "put_reserved", "exc_no_cap_requestresponse", "put_event_invoke_conf", "invoke_result",
            "msg"],
        "TestLambdaConcurrency::test_reserved_concurrency_async_queue": [
            "put_fn_concurrency", "too_many_requests_exc"],
        ENCODING_ERROR + "[body-n\\x87r\\x9e\\xe9\\xb5\\xd7I\\xee\\x9bmt]": None,
        ENCODING_ERROR + "[message-\\x99\\xeb,j\\x07\\xa1zYh]": None,
        "TestLambdaFeatures::test_invoke_exceptions": None,
        "TestLambdaFeatures::test_invocation_with_logs[python3.10]": None,
        "TestLambdaFeatures::test_invocation_type_event_error": ["invocation_response", "log_events"],
        "TestRequestIdHandling::test_request_id_invoke": None,
        "TestRequestIdHandling::test_request_id_async_invoke_with_retry": None,
    },
    "lambda_/test_lambda_api.snapshot.json": {
        "TestLambdaEventInvokeConfig::test_lambda_eventinvokeconfig_exceptions": ALL_BUT_FUNCTIONS,
        "TestLambdaEventInvokeConfig::test_lambda_eventinvokeconfig_lifecycle": ALL_BUT_FUNCTIONS,
    },
    "lambda_/test_lambda_destinations.snapshot.json": {
        "TestLambdaDestinationEventbridge::test_invoke_lambda_eventbridge": None,
    },
    "sns/test_sns.snapshot.json": {
        "TestSNSSubscriptionLambda::test_sns_topic_as_lambda_dead_letter_queue": None,
    },
}


def main() -> None:
    commit = subprocess.check_output(["git", "-C", REPO, "rev-parse", "HEAD"], text=True).strip()
    out: dict[str, object] = {
        "source": f"https://github.com/localstack/localstack/tree/{commit}/{BASE}", "cases": {}}
    cases_out: dict[str, object] = {}
    for path, cases in WANTED.items():
        data = json.loads(subprocess.check_output(["git", "-C", REPO, "show", f"HEAD:{BASE}{path}"]))
        test_file = path.replace(".snapshot.json", ".py")
        for case, keys in cases.items():
            entry = data[f"{BASE}{test_file}::{case}"]
            content = entry["recorded-content"]
            if keys == ALL_BUT_FUNCTIONS:
                content = {k: v for k, v in content.items()
                           if not k.startswith(("fn_", "publish_version"))}
            elif isinstance(keys, list):
                content = {k: content[k] for k in keys}
            cases_out[f"{test_file}::{case}"] = {"recorded-date": entry["recorded-date"],
                                                  "recorded-content": content}
    out["cases"] = cases_out
    print(json.dumps(out, indent=1, ensure_ascii=True))


if __name__ == "__main__":
    main()
