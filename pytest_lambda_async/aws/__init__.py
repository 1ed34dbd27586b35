"""The moto bridge: real boto3 clients under `moto.mock_aws` drive the plugin.

While a test's `lambda_invoker` is active and moto's in-memory mock is on (a `mock_aws`
decorator, context manager or fixture), the bridge patches a handful of moto's internals so
that, with no Docker:

- functions deployed with `lambda_invoker.deploy()` exist in moto's Lambda, and functions made
  with boto3 `create_function(Handler="pkg.module.function")` run in-process through the
  invoker (deployed on first use) when their handler's module is importable;
- boto3 `invoke` (RequestResponse, Event, DryRun) and `invoke_async` answer as AWS does, and
  async events go through the plugin's queue (retries, event age, destinations, DLQ);
- event-invoke configs, `DeadLetterConfig` and reserved concurrency set with boto3 reach the
  invoker;
- destinations and DLQs given as ARNs of moto resources deliver into those resources;
- SNS, S3 and EventBridge invoke asynchronously with AWS's event shapes, and an SQS event
  source mapping polls on the simulated clock with batches, partial batch responses and the
  queue's redrive policy.

Nothing runs inside `publish`/`put_object`/`send_message`: events are queued and run when
the test drains the queue (`lambda_invoker.run_until_idle()`) or moves `lambda_clock`.
Every patch is removed when the mock stops or the test ends, leaving moto exactly as it was.
moto and boto3 are imported only when a test has imported moto itself. Spec:
`reference/aws-lambda-semantics.md` §1-3, §6, §8.

Modules: `activation` (on and off), `bridge` (the state and function mapping), `lambda_api`
(the Lambda API handlers), `sqs_poller` and `push_sources` (event sources), `delivery`
(destinations and DLQs into moto's resources).
"""

from .activation import activate, deactivate
from .bridge import Bridge, active

__all__ = ("Bridge", "activate", "active", "deactivate")
