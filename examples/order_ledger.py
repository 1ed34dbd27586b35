"""An `async def` handler on aiobotocore, talking to DynamoDB over real HTTP.

The client is created once per execution environment, at init, on the environment's event loop
(the loop the async handler then runs on), and reused warm. Each order is written once: a
second order with the same id is refused by DynamoDB and the handler fails, so Lambda retries
it and finally sends it to the on-failure destination.
"""

import asyncio
import contextlib
import os

from aiobotocore.session import get_session

_clients = contextlib.AsyncExitStack()
dynamodb = asyncio.get_event_loop().run_until_complete(
    _clients.enter_async_context(
        get_session().create_client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    )
)


async def handler(event, context):
    await dynamodb.put_item(
        TableName=os.environ["LEDGER_TABLE"],
        Item={"order_id": {"S": event["order_id"]}, "total": {"N": str(event["total"])}},
        ConditionExpression="attribute_not_exists(order_id)",
    )
    # Settlement is confirmed a minute later: simulated time, no real waiting.
    await asyncio.sleep(60)
    return {"order_id": event["order_id"], "settled": True}
