"""Salesforce's admin extras: expire sessions, convert a lead without the page."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from crm_sandbox import admin, store
from crm_sandbox.salesforce import conversion, org
from crm_sandbox.salesforce.api import gate


def make_blueprint() -> Blueprint:
    bp = admin.make_blueprint("salesforce", wipe_tables=store.SALESFORCE_TABLES, on_reset=org.reset)

    @bp.post("/sessions/expire")
    def expire_sessions():
        """Every token issued so far expires, or only `{"access_token": "..."}` when given."""
        body = _object()
        token = body.get("access_token")
        if token is not None and not isinstance(token, str):
            raise ValueError("access_token must be a string")
        gate.expire_sessions(token)
        return jsonify({"expired": token or "all"})

    @bp.get("/org")
    def org_settings():
        return jsonify(org.snapshot())

    @bp.post("/org")
    def configure_org():
        return jsonify(org.configure(_object()))

    @bp.post("/leads/<lead_id>/convert")
    def convert_lead(lead_id):
        body = _object()
        for key in ("opportunity_name", "account_id", "contact_id"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise ValueError(f"{key} must be a string")
        lead = conversion.convert_lead(store.session(), lead_id,
                                    create_opportunity=bool(body.get("create_opportunity", True)),
                                    opportunity_name=body.get("opportunity_name"),
                                    account_id=body.get("account_id"), contact_id=body.get("contact_id"))
        return jsonify({field: lead.fields.get(field) for field in (
            "Id", "IsConverted", "ConvertedDate", "ConvertedAccountId", "ConvertedContactId",
            "ConvertedOpportunityId")})

    return bp


def _object() -> dict:
    body = request.get_json(silent=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body
