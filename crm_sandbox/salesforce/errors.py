"""Salesforce's error shapes (FACTS §2.9): REST errors are a JSON array of
{message, errorCode, fields}; collections use `statusCode` per record; OAuth uses error/error_description.
"""
from __future__ import annotations

from flask import Response, jsonify


class SalesforceError(Exception):
    def __init__(self, status: int, error_code: str, message: str, fields: list[str] | None = None,
                 *, extra: dict | None = None):
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message
        self.fields = fields if fields is not None else []
        self.extra = extra or {}

    def item(self) -> dict:
        return {**self.extra, "message": self.message, "errorCode": self.error_code, "fields": self.fields}

    def collection_item(self) -> dict:
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields, **self.extra}

    def response(self) -> Response:
        response = jsonify([self.item()])
        response.status_code = self.status
        return response


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def response(self) -> Response:
        response = jsonify({"error": self.error, "error_description": self.description})
        response.status_code = self.status
        return response


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def malformed_query(message: str) -> SalesforceError:
    return SalesforceError(400, "MALFORMED_QUERY", message)


def invalid_session() -> SalesforceError:
    return SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def request_limit() -> SalesforceError:
    return SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def injected_failure(status: int) -> SalesforceError:
    if status == 400:
        return SalesforceError(400, "UNABLE_TO_LOCK_ROW",
                               "unable to obtain exclusive access to this record or 1 records")
    if status == 503:
        return SalesforceError(503, "SERVER_UNAVAILABLE", "Sandbox fault injection: simulated 503.")
    return SalesforceError(status, "UNKNOWN_EXCEPTION", f"Sandbox fault injection: simulated {status}.")
