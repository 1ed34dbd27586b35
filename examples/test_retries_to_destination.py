"""An asynchronously invoked handler that keeps failing: AWS's retry schedule, in virtual time.

Three attempts, one and two minutes apart, all with the same request id; then the event's
record lands in the on-failure destination and the original event in the dead-letter queue.
"""

import asyncio


async def resize_image(event, context):
    await asyncio.sleep(1)
    raise TimeoutError(f"image service unavailable for {event['key']}")


def test_failed_event_ends_in_the_destination_and_the_dlq(lambda_invoker):
    on_failure = lambda_invoker.sink("resize-failures")
    dlq = lambda_invoker.sink("resize-dlq")
    fn = lambda_invoker.deploy(resize_image, on_failure=on_failure, dead_letter_target=dlq)

    accepted = fn.invoke_async({"key": "photos/cat.jpg"})
    assert accepted.status_code == 202

    (outcome,) = lambda_invoker.run_until_idle()  # 3 simulated minutes, milliseconds of real time
    for attempt in outcome.history:
        print(f"attempt {attempt.number} at +{attempt.started_at - outcome.accepted_at:.0f}s: "
              f"{attempt.status} ({attempt.error_type})")
    assert [a.started_at - outcome.accepted_at for a in outcome.history] == [0, 61, 182]
    assert outcome.condition == "RetriesExhausted"

    record = on_failure.records[0]
    print("on-failure record:", record["requestContext"])
    assert record["requestContext"]["requestId"] == accepted.request_id
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "TimeoutError"

    message = dlq.records[0]
    assert message["body"] == {"key": "photos/cat.jpg"}
    assert message["messageAttributes"]["ErrorMessage"]["StringValue"] == (
        "image service unavailable for photos/cat.jpg"
    )


def test_event_age_cuts_the_retries_short(lambda_invoker):
    on_failure = lambda_invoker.sink("late")
    fn = lambda_invoker.deploy(resize_image, maximum_event_age_in_seconds=90, on_failure=on_failure)
    fn.invoke_async({"key": "a.jpg"})
    (outcome,) = lambda_invoker.run_until_idle()
    # the second retry would start 3 minutes after acceptance, past the 90-second age
    assert (outcome.condition, outcome.attempts) == ("EventAgeExceeded", 2)
