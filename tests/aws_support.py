"""What the moto tests share: boto3 clients under mock_aws, and a few set-up steps."""

from __future__ import annotations

import json
from typing import Any

import boto3

REGION = "us-east-1"


_SERVICES = {"lam": "lambda", "sqs": "sqs", "sns": "sns", "s3": "s3", "events": "events",
             "iam": "iam", "dynamodb": "dynamodb"}


class Clients:
    """boto3 clients, each made on first use (making one costs tens of milliseconds)."""

    def __getattr__(self, name: str) -> Any:
        if name not in _SERVICES:
            raise AttributeError(name)
        client = boto3.client(_SERVICES[name], region_name=REGION)
        setattr(self, name, client)
        return client

    def role(self) -> str:
        try:
            return str(self.iam.get_role(RoleName="lambda-role")["Role"]["Arn"])
        except self.iam.exceptions.NoSuchEntityException:
            return str(self.iam.create_role(
                RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"])

    def create_function(self, name: str, handler: str, **kwargs: Any) -> str:
        response = self.lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=self.role(), Handler=handler,
            Code={"ZipFile": b"not used: the handler runs in-process"}, **kwargs)
        return str(response["FunctionArn"])

    def queue(self, name: str, **attributes: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def topic_into_queue(self, topic_name: str, queue_name: str, *,
                         raw: bool = True) -> tuple[str, str]:
        """An SNS topic delivering messages (raw, or in SNS's envelope) into a new queue:
        (topic ARN, queue URL)."""
        topic = self.sns.create_topic(Name=topic_name)["TopicArn"]
        url, queue_arn = self.queue(queue_name)
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                           Attributes={"RawMessageDelivery": "true" if raw else "false"})
        return topic, url

    def receive(self, url: str, limit: int = 10) -> list[dict[str, Any]]:
        return list(self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=limit, MessageAttributeNames=["All"],
            AttributeNames=["All"]).get("Messages", []))

    def receive_json(self, url: str) -> list[Any]:
        return [json.loads(m["Body"]) for m in self.receive(url)]

