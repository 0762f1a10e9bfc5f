"""POST /webhooks/<provider> (e.g. /webhooks/hubspot): the provider's connector verifies the
signature, then the connection is pulled early."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from portal.extensions import csrf, limiter
from portal.services import crm

bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)


@bp.post("/webhooks/<provider>")
# Only failed signatures count (deliveries that verify are never slowed): a guesser is stopped.
@limiter.limit(lambda: current_app.config["WEBHOOK_FAILURE_RATE_LIMIT"], methods=["POST"],
               deduct_when=lambda response: response.status_code == 401)
def receive(provider: str):
    # A CRM signs the URL it called; behind a proxy that is the public URL, not request.url.
    public = current_app.config["PUBLIC_BASE_URL"] + request.full_path.rstrip("?")
    try:
        pulls = crm.receive_webhook(provider, method=request.method, urls=[request.url, public],
                                    body=request.get_data(), headers=request.headers)
    except crm.InvalidSignature as err:
        return jsonify(error=err.message), 401
    return jsonify(pulls=pulls), 200
