"""HubSpot's error bodies (FACTS §1.9): `status`, `message`, `correlationId`, `category`, ..."""
from __future__ import annotations

import json
import uuid

from flask import Response, jsonify


class HubSpotError(Exception):
    """Raised anywhere in the HubSpot sandbox; the blueprint turns it into HubSpot's error JSON."""

    def __init__(self, status: int, message: str, category: str, *, errors: list | None = None,
                 context: dict | None = None, **extra):
        super().__init__(message)
        self.status, self.message, self.category = status, message, category
        self.errors, self.context, self.extra = errors, context, extra

    def body(self) -> dict:
        body = {"status": "error", "message": self.message,
                "correlationId": str(uuid.uuid4()), "category": self.category}
        if self.errors is not None:
            body["errors"] = self.errors
        if self.context is not None:
            body["context"] = self.context
        body.update(self.extra)
        return body

    def standard_error(self) -> dict:
        """The `StandardError` shape used inside 207 multi-status answers (all fields present)."""
        return {"status": "error", "category": self.category, "message": self.message,
                "errors": self.errors or [], "context": self.context or {}, "links": {}}

    def response(self) -> Response:
        response = jsonify(self.body())
        response.status_code = self.status
        if self.status == 401:
            response.headers["x-hubspot-auth-failure"] = "401 Unauthorized"
        return response


def validation(message: str, errors: list | None = None, **extra) -> HubSpotError:
    return HubSpotError(400, message, "VALIDATION_ERROR", errors=errors or [], **extra)


def invalid_properties(problems: list[dict]) -> HubSpotError:
    """400 for bad property values, message and errors[] shaped like HubSpot's (FACTS §1.9)."""
    detailed = [{"isValid": False, "message": p["message"], "error": p["code"], "name": p["name"]}
                for p in problems]
    errors = [{"message": p["message"], "code": p["code"], "context": {"propertyName": [p["name"]]}}
              for p in problems]
    return validation("Property values were not valid: " + json.dumps(detailed, separators=(",", ":")),
                      errors)


def not_found(message: str = "Resource not found") -> HubSpotError:
    return HubSpotError(404, message, "OBJECT_NOT_FOUND")


def unauthenticated() -> HubSpotError:
    return HubSpotError(
        401,
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
        "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        "INVALID_AUTHENTICATION")


def rate_limited(policy: str = "TEN_SECONDLY_ROLLING") -> HubSpotError:
    if policy == "DAILY":
        return HubSpotError(429, "You have reached your daily limit.", "RATE_LIMITS",
                            errorType="RATE_LIMIT", policyName="DAILY")
    if policy == "SECONDLY":
        return HubSpotError(429, "You have reached your secondly limit.", "RATE_LIMITS",
                            errorType="RATE_LIMIT", policyName="SECONDLY")
    return HubSpotError(429, "You have reached your ten_secondly_rolling limit.", "RATE_LIMITS",
                        errorType="RATE_LIMIT", policyName="TEN_SECONDLY_ROLLING")


def injected_failure(status: int) -> HubSpotError:
    categories = {423: "LOCKED", 429: "RATE_LIMITS", 500: "INTERNAL_ERROR",
                  502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT"}
    return HubSpotError(status, f"Sandbox fault injection: simulated {status}.",
                        categories.get(status, "ERROR"))
