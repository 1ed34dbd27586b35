"""A FastAPI app behind Mangum, deployed as the handler string "fastapi_app.handler".

Async and sync routes; a background task FastAPI runs after the response (Mangum waits for
it, so it finishes inside the invocation) and one started with `asyncio.create_task` that
nothing awaits (frozen with the environment when the handler returns: a leak).
"""

import asyncio

from fastapi import BackgroundTasks, FastAPI
from mangum import Mangum

app = FastAPI()
AUDIT: list[str] = []


async def audit(entry: str) -> None:
    await asyncio.sleep(0.1)  # an audit-log write
    AUDIT.append(entry)
    print(f"audited {entry}")


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None):
    await asyncio.sleep(0.05)  # a database read
    return {"item_id": item_id, "q": q}


@app.get("/health")
def health():  # a sync route: Starlette runs it on a worker thread (anyio.to_thread)
    return {"status": "ok"}


@app.post("/orders/{order_id}")
async def place_order(order_id: str, background_tasks: BackgroundTasks):
    background_tasks.add_task(audit, f"order {order_id}")  # run after the response, awaited
    return {"order": order_id, "status": "accepted"}


@app.post("/orders/{order_id}/fire-and-forget")
async def place_order_leaky(order_id: str):
    asyncio.create_task(audit(f"order {order_id}"))  # noqa: RUF006 - nothing awaits it: a leak
    return {"order": order_id, "status": "accepted"}


handler = Mangum(app, lifespan="off")
