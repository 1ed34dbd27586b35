"""The articles' leaks, ported to Python: each handler returns with work still pending.

Each has a fixed twin below it. `test_leaks_examples.py` shows the detector catching the
first and passing the second.
"""

import asyncio


async def list_buckets():
    await asyncio.sleep(0.2)  # an S3 call
    return ["invoices", "thumbnails"]


async def log_upload_to_dynamodb(key):
    await asyncio.sleep(0.1)  # a DynamoDB put_item


def send_heartbeat():
    print("heartbeat sent")


# "Why your concurrent Lambda isn't working": `return s3.listBuckets().promise()`.
async def buckets_handler(event, context):
    return list_buckets()  # returns the coroutine: the runtime cannot serialise it


async def buckets_handler_fixed(event, context):
    return await list_buckets()


# The same article's upload: the DynamoDB log call is fired and never awaited.
async def upload_handler(event, context):
    await asyncio.sleep(0.3)  # upload the file to S3
    log_upload_to_dynamodb(event["key"])  # never awaited: the log is never written
    return {"uploaded": event["key"]}


async def upload_handler_fixed(event, context):
    await asyncio.sleep(0.3)
    await log_upload_to_dynamodb(event["key"])
    return {"uploaded": event["key"]}


# "AWS Lambda and the Node.js event loop": a 5-second setTimeout, then return.
async def timer_handler(event, context):
    asyncio.get_running_loop().call_later(5, send_heartbeat)
    return "done"


async def timer_handler_fixed(event, context):
    await asyncio.sleep(5)
    send_heartbeat()
    return "done"


async def send_metrics(order):
    await asyncio.sleep(0.5)  # a metrics API call
    print(f"metrics sent for {order}")


# The most common asyncio leak: a task started "in the background" and never awaited.
async def order_handler(event, context):
    asyncio.create_task(send_metrics(event["order"]))  # noqa: RUF006 - left pending: a leak
    return {"accepted": event["order"]}


async def order_handler_fixed(event, context):
    metrics = asyncio.create_task(send_metrics(event["order"]))
    await metrics  # or asyncio.gather(...) for several
    return {"accepted": event["order"]}
