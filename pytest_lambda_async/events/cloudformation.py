"""CloudFormation custom resource requests, as CloudFormation sends them to a function.

Shape: AWS's custom resource request samples (`tests/test_events_recorded.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import EventSource, apply_overrides, hex_id, pick, usage, uuid4


class CloudFormationEvents(EventSource):
    """The factory for CloudFormation custom resource requests."""

    function_name = "test-function"

    def cloudformation_custom_resource(
        self, request_type: str = "Create", *, properties: Mapping[str, Any] | None = None,
        old_properties: Mapping[str, Any] | None = None, physical_resource_id: str | None = None,
        resource_type: str = "Custom::TestResource", logical_resource_id: str = "TestResource",
        stack: str = "test-stack", **fields: Any,
    ) -> dict[str, Any]:
        """A Create, Update or Delete request. Update and Delete name the physical resource;
        Update carries the old properties."""
        name = "cloudformation_custom_resource"
        pick(name, "request_type", request_type, ("Create", "Update", "Delete"))
        if request_type != "Update" and old_properties is not None:
            raise usage(name, "old_properties", f"is set, but a {request_type} request has none.",
                        "drop old_properties, or use request_type='Update'.")
        if request_type == "Create" and physical_resource_id is not None:
            raise usage(name, "physical_resource_id", "is set, but a Create request has none "
                        "(the function chooses it).", "drop physical_resource_id.")
        token = self.arn("lambda", f"function:{self.function_name}")
        stack_id = self.arn("cloudformation", f"stack/{stack}/{uuid4()}")
        request_id = uuid4()
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": token,
            "ResponseURL": (f"https://cloudformation-custom-resource-response-"
                            f"{self.region.replace('-', '')}.s3.amazonaws.com/"
                            f"{stack_id.replace(':', '%3A').replace('/', '%2F')}%7C"
                            f"{logical_resource_id}%7C{request_id}?X-Amz-Signature={hex_id(64)}"),
            "StackId": stack_id,
            "RequestId": request_id,
            "LogicalResourceId": logical_resource_id,
            "ResourceType": resource_type,
        }
        if request_type != "Create":
            event["PhysicalResourceId"] = (physical_resource_id
                                           or f"{stack}-{logical_resource_id}-{hex_id(12).upper()}")
        event["ResourceProperties"] = {"ServiceToken": token, **(properties or {})}
        if request_type == "Update":
            event["OldResourceProperties"] = {"ServiceToken": token, **(old_properties or {})}
        return apply_overrides(name, event, fields, _KEYWORDS)


_KEYWORDS = ("request_type", "properties", "old_properties", "physical_resource_id",
             "resource_type", "logical_resource_id", "stack")
