"""Errors the plugin raises: AWS's own API errors, and mistakes in how a test uses the plugin."""

from __future__ import annotations


class LambdaError(Exception):
    """Base class of every error this plugin raises."""


class LambdaUsageError(LambdaError, ValueError):
    """The test used the plugin wrongly (a bad argument, marker or setting).

    The message says how to fix it."""


class AWSError(LambdaError):
    """An error the Lambda API itself returns, with AWS's name and HTTP status."""

    code = "ServiceException"
    status_code = 500

    def __init__(self, message: str, hint: str = "") -> None:
        self.aws_message = message
        super().__init__(f"{self.code}: {message}" + (f"\n  Fix: {hint}" if hint else ""))


class ValidationException(AWSError):
    code = "ValidationException"
    status_code = 400


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


class ResourceNotFoundException(AWSError):
    code = "ResourceNotFoundException"
    status_code = 404
