"""The OAuth 2 token endpoint (FACTS §2.2); instance_url is this sandbox's own base URL."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from crm_sandbox import runtime
from crm_sandbox.salesforce import auth
from crm_sandbox.salesforce.api import gate
from crm_sandbox.salesforce.errors import OAuthError

bp = Blueprint("oauth", __name__)
gate.install(bp, authenticated=False)


@bp.post("/services/oauth2/token")
def token():
    settings = runtime.sandbox().settings
    instance_url = runtime.base_url("salesforce")
    form = request.form.to_dict()
    grant = form.get("grant_type", "")
    if grant == "refresh_token":
        basic = (request.authorization.username, request.authorization.password) \
            if request.authorization and request.authorization.type == "basic" else None
        auth.refresh_grant(settings, form, basic)
        username = settings["SANDBOX_SALESFORCE_USERNAME"] or "sandbox@crm-sandbox.example"
        return jsonify(auth.issue(settings, instance_url, username=username, scope="api id", refresh=True))
    if grant == auth.JWT_GRANT:
        subject = auth.jwt_grant(settings, form.get("assertion", ""), instance_url)
        return jsonify(auth.issue(settings, instance_url, username=subject, scope="api id", refresh=False))
    raise OAuthError("unsupported_grant_type", "grant type not supported")
