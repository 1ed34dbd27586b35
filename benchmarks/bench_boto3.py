"""Cost of a boto3 `invoke` through moto against `fn.invoke` of the same handler.

Prints, from one run (a ratio, since machines are noisy):
- invocations per second of `fn.invoke` on a trivial `async def` handler;
- invocations per second of `boto3.client("lambda").invoke(...)` of that same function, under
  `moto.mock_aws` with the plugin's moto bridge active (botocore serialises the request,
  moto routes it, the bridge runs the handler in-process);
- their ratio: what driving a handler through boto3 and moto costs per invocation.

Run: python benchmarks/bench_boto3.py
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from moto import mock_aws

from pytest_lambda_async import Invoker, VirtualClock, aws


async def handler(event: Any, context: Any) -> dict[str, Any]:
    return {"ok": event["n"]}


def per_second(fn: Any, seconds: float = 1.5) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            fn()
        count += 20
    return count / elapsed


def main() -> None:
    invoker = Invoker(VirtualClock())
    aws.activate(invoker)
    try:
        with mock_aws():
            fn = invoker.deploy(handler, name="bench")
            client = boto3.client("lambda", region_name="us-east-1")
            event = {"n": 1}
            payload = json.dumps(event).encode()

            def through_boto3() -> None:
                response = client.invoke(FunctionName="bench", Payload=payload)
                response["Payload"].read()

            fn.invoke(event)  # cold start out of the way
            through_boto3()
            direct = per_second(lambda: fn.invoke(event))
            boto = per_second(through_boto3)
    finally:
        aws.deactivate()
        invoker.close()
    print(f"fn.invoke:                     {direct:10.0f} invocations/s "
          f"({1e6 / direct:8.1f} us each)")
    print(f"boto3 invoke through moto:     {boto:10.0f} invocations/s "
          f"({1e6 / boto:8.1f} us each)")
    print(f"ratio boto3+moto / fn.invoke:  {direct / boto:10.1f}x")


if __name__ == "__main__":
    main()
