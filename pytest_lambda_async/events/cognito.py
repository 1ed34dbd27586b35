"""Cognito user pool triggers: pre sign-up, post confirmation, pre and post authentication,
pre token generation (version 1) and custom message.

Shapes: AWS's user pool trigger samples (`tests/test_events_recorded.py`). Not built: the
custom authentication challenge, user migration and custom sender triggers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._base import EventSource, apply_overrides, lower_id, usage, uuid4

_RESPONSES: dict[str, Any] = {
    "PreSignUp": lambda: {"autoConfirmUser": False, "autoVerifyEmail": False,
                          "autoVerifyPhone": False},
    "PostConfirmation": dict,
    "PreAuthentication": dict,
    "PostAuthentication": dict,
    "TokenGeneration": lambda: {"claimsOverrideDetails": None},
    "CustomMessage": lambda: {"smsMessage": None, "emailMessage": None, "emailSubject": None},
}
TRIGGER_SOURCES = (
    "PreSignUp_SignUp", "PreSignUp_AdminCreateUser", "PreSignUp_ExternalProvider",
    "PostConfirmation_ConfirmSignUp", "PostConfirmation_ConfirmForgotPassword",
    "PreAuthentication_Authentication", "PostAuthentication_Authentication",
    "TokenGeneration_HostedAuth", "TokenGeneration_Authentication",
    "TokenGeneration_NewPasswordChallenge", "TokenGeneration_AuthenticateDevice",
    "TokenGeneration_RefreshTokens",
    "CustomMessage_SignUp", "CustomMessage_AdminCreateUser", "CustomMessage_ResendCode",
    "CustomMessage_ForgotPassword", "CustomMessage_UpdateUserAttribute",
    "CustomMessage_VerifyUserAttribute", "CustomMessage_Authentication",
)


class CognitoEvents(EventSource):
    """The factory for Cognito user pool trigger events."""

    def cognito(
        self, trigger_source: str = "PreSignUp_SignUp", *, user_name: str = "test-user",
        user_attributes: Mapping[str, str] | None = None,
        client_metadata: Mapping[str, str] | None = None,
        validation_data: Mapping[str, str] | None = None, groups: Iterable[str] = (),
        user_pool_id: str | None = None, client_id: str | None = None, **fields: Any,
    ) -> dict[str, Any]:
        """The event of a user pool trigger, by its `triggerSource` (`PreSignUp_SignUp`,
        `PostConfirmation_ConfirmSignUp`, `TokenGeneration_Authentication`, ...), with the
        response fields Cognito fills in before the function changes them."""
        name = "cognito"
        if trigger_source not in TRIGGER_SOURCES:
            raise usage(name, "trigger_source", f"is {trigger_source!r}, which is not a trigger "
                        "source this factory builds.", f"use one of: {', '.join(TRIGGER_SOURCES)}.")
        family = trigger_source.split("_")[0]
        if validation_data is not None and family not in ("PreSignUp", "PreAuthentication"):
            raise usage(name, "validation_data", f"is set, but a {family} trigger has none.",
                        "drop validation_data.")
        if groups and family != "TokenGeneration":
            raise usage(name, "groups", f"is set, but a {family} trigger has no group "
                        "configuration.", "drop groups, or use a TokenGeneration_* trigger.")
        if user_attributes is None:
            email = f"{user_name}@example.com"
            user_attributes = ({"email": email} if family == "PreSignUp" else {
                "sub": uuid4(), "cognito:user_status": "CONFIRMED", "email_verified": "true",
                "email": email})
        request: dict[str, Any] = {"userAttributes": dict(user_attributes)}
        if family in ("PreSignUp", "PreAuthentication"):
            request["validationData"] = dict(validation_data) if validation_data else None
        if family == "PreAuthentication":
            request["userNotFound"] = False
        if family == "PostAuthentication":
            request["newDeviceUsed"] = False
        if family == "TokenGeneration":
            request["groupConfiguration"] = {"groupsToOverride": list(groups),
                                             "iamRolesToOverride": [], "preferredRole": None}
        if family == "CustomMessage":
            request.update({"codeParameter": "{####}", "linkParameter": "{##Click Here##}",
                            "usernameParameter": ("{username}"
                                                  if trigger_source.endswith("AdminCreateUser")
                                                  else None)})
        if client_metadata is not None:
            request["clientMetadata"] = dict(client_metadata)
        event = {
            "version": "1",
            "triggerSource": trigger_source,
            "region": self.region,
            "userPoolId": user_pool_id or f"{self.region}_{lower_id(9).upper()}",
            "userName": user_name,
            "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown",
                              "clientId": client_id or lower_id(26)},
            "request": request,
            "response": _RESPONSES[family](),
        }
        return apply_overrides(name, event, fields, _KEYWORDS)


_KEYWORDS = ("trigger_source", "user_name", "user_attributes", "client_metadata",
             "validation_data", "groups", "user_pool_id", "client_id")
