"""The S3 thumbnail pipeline of seeds/lambda-async-invocation-first-principles.md, in Python.

S3 invokes `handler` asynchronously for each upload. Events can arrive more than once, so the
handler claims each object version in DynamoDB first: a second delivery of the same upload is
skipped, while Lambda's own retries of one event (same request id) may carry on.
"""

import os
from urllib.parse import unquote_plus

import boto3
from botocore.exceptions import ClientError

s3 = boto3.client("s3")
dynamodb = boto3.client("dynamodb")
PNG = b"\x89PNG"


def handler(event, context):
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        job = f"{bucket}/{key}@{record['s3']['object']['eTag']}"
        try:
            dynamodb.put_item(
                TableName=os.environ["JOBS_TABLE"],
                Item={"id": {"S": job}, "request_id": {"S": context.aws_request_id}},
                ConditionExpression="attribute_not_exists(id) OR request_id = :me",
                ExpressionAttributeValues={":me": {"S": context.aws_request_id}})
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            print(f"skipping {job}: already handled")
            continue
        image = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if not image.startswith(PNG):
            raise ValueError(f"{key} is not a PNG image")
        # Into another bucket: writing back into the source bucket would trigger this again.
        s3.put_object(Bucket=os.environ["THUMBNAIL_BUCKET"], Key=key, Body=image[:64])
        print(f"thumbnail written for {key}")
