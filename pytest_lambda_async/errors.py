"""Errors the plugin raises: AWS's own API errors, and mistakes in how a test uses the plugin."""

from __future__ import annotations


class LambdaError(Exception):
    """Base class of every error this plugin raises."""


class LambdaUsageError(LambdaError, ValueError):
    """The test used the plugin wrongly (a bad argument, marker or setting).

    The message says how to fix it."""


class AWSError(LambdaError):
    """An error the Lambda API itself returns, with AWS's name and HTTP status.

    `body()` is the JSON body AWS answers with: `Type` ("User" when the caller is at fault),
    the message (under `message` or `Message`, as the API's model names it for this error)
    and, for throttles, `Reason`.
    """

    code = "ServiceException"
    status_code = 500
    error_kind: str | None = "User"
    message_field = "message"

    def __init__(self, message: str, hint: str = "", *, reason: str | None = None) -> None:
        self.aws_message = message
        self.reason = reason
        # Not prefixed with the code: the class is named after it, and a traceback shows both.
        text = message + (f" (Reason: {reason})" if reason else "")
        super().__init__(text + (f"\n  Fix: {hint}" if hint else ""))

    def body(self) -> dict[str, str]:
        body: dict[str, str] = {}
        if self.error_kind is not None:
            body["Type"] = self.error_kind
        body[self.message_field] = self.aws_message
        if self.reason is not None:
            body["Reason"] = self.reason
        return body


class ValidationException(AWSError):
    code = "ValidationException"
    status_code = 400
    error_kind = None  # AWS's ValidationException body has no Type


class InvalidParameterValueException(AWSError):
    code = "InvalidParameterValueException"
    status_code = 400


class InvalidRequestContentException(AWSError):
    code = "InvalidRequestContentException"
    status_code = 400


class RequestTooLargeException(AWSError):
    code = "RequestTooLargeException"
    status_code = 413


class TooManyRequestsException(AWSError):
    code = "TooManyRequestsException"
    status_code = 429


class ServiceException(AWSError):
    code = "ServiceException"
    status_code = 500
    error_kind = "Service"


class ResourceNotFoundException(AWSError):
    code = "ResourceNotFoundException"
    status_code = 404
    message_field = "Message"
