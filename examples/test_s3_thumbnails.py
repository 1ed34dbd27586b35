"""S3 thumbnails with an idempotency check, driven by real boto3 calls under moto.

An upload invokes the thumbnailer asynchronously. A duplicate delivery of the same upload is
skipped thanks to a DynamoDB claim; an upload that is not an image fails every attempt and its
invocation record lands in the on-failure S3 bucket, under AWS's key layout.
"""

import json

import boto3
import pytest
from moto import mock_aws

REGION = "us-east-1"


@pytest.fixture
def aws(lambda_invoker):
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="thumbnail-jobs", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        s3.create_bucket(Bucket="photos")
        s3.create_bucket(Bucket="thumbnails")
        s3.create_bucket(Bucket="thumbnail-failures")
        fn = lambda_invoker.deploy(
            "thumbnail_service.handler", name="thumbnailer", timeout=30,
            environment={"JOBS_TABLE": "thumbnail-jobs", "THUMBNAIL_BUCKET": "thumbnails"},
            on_failure="arn:aws:s3:::thumbnail-failures")
        s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": fn.arn,
                                              "Events": ["s3:ObjectCreated:*"]}]})
        yield s3


def test_each_upload_gets_one_thumbnail_even_when_delivered_twice(aws, lambda_invoker):
    aws.put_object(Bucket="photos", Key="cat.png", Body=b"\x89PNG...a cat...")
    (first,) = lambda_invoker.run_until_idle()
    assert first.condition == "Success"
    thumbnail = aws.get_object(Bucket="thumbnails", Key="cat.png")["Body"].read()
    assert thumbnail.startswith(b"\x89PNG")

    # Async events can arrive more than once: the same S3 event, delivered again.
    boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="thumbnailer", InvocationType="Event", Payload=json.dumps(first.event))
    (again,) = lambda_invoker.run_until_idle()
    assert again.condition == "Success"
    assert "skipping photos/cat.png" in again.history[-1].log_result


def test_a_bad_upload_is_retried_then_recorded_in_the_failure_bucket(aws, lambda_invoker):
    aws.put_object(Bucket="photos", Key="notes.txt", Body=b"not an image")
    (outcome,) = lambda_invoker.run_until_idle()
    # Retries of one event share its request id, so the idempotency claim lets them through.
    assert [a.status for a in outcome.history] == ["failed"] * 3
    assert [round(a.started_at - outcome.accepted_at) for a in outcome.history] == [0, 60, 180]

    (stored,) = aws.list_objects_v2(Bucket="thumbnail-failures")["Contents"]
    print("failure record stored at", stored["Key"])
    assert stored["Key"].startswith("aws/lambda/async/thumbnailer/")
    body = aws.get_object(Bucket="thumbnail-failures", Key=stored["Key"])["Body"].read()
    record = json.loads(body)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["responsePayload"]["errorMessage"] == "notes.txt is not a PNG image"
    assert record["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "notes.txt"
