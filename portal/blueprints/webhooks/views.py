"""POST /webhooks/hubspot: verify HubSpot's v3 signature, then ask for an early pull."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from portal.extensions import csrf, limiter
from portal.services import crm

bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)


@bp.post("/webhooks/hubspot")
@limiter.exempt
def hubspot():
    # HubSpot signs the URL it called; behind a proxy that is the public URL, not request.url.
    public = current_app.config["PUBLIC_BASE_URL"] + request.full_path.rstrip("?")
    try:
        pulls = crm.receive_hubspot_webhook(
            method=request.method, urls=[request.url, public], body=request.get_data(),
            signature=request.headers.get("X-HubSpot-Signature-v3"),
            timestamp=request.headers.get("X-HubSpot-Request-Timestamp"))
    except crm.InvalidSignature as err:
        return jsonify(error=err.message), 401
    return jsonify(pulls=pulls), 200
