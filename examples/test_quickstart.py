"""The README's first example: deploy a handler, invoke it, drain its async events."""

import asyncio


async def handler(event, context):
    await asyncio.sleep(2)  # simulated: costs no real time
    if event.get("fail"):
        raise ValueError("bad order")
    return {"order": event["id"], "left_ms": context.get_remaining_time_in_millis()}


def test_quickstart(lambda_invoker):
    failures = lambda_invoker.sink("failures")
    fn = lambda_invoker.deploy(handler, timeout=10, on_failure=failures)

    result = fn.invoke({"id": 7})
    assert result.payload == {"order": 7, "left_ms": 8000}

    fn.invoke_async({"id": 8, "fail": True})
    (outcome,) = lambda_invoker.run_until_idle()
    assert (outcome.condition, outcome.attempts) == ("RetriesExhausted", 3)
    assert failures.records[0]["responsePayload"]["errorMessage"] == "bad order"
