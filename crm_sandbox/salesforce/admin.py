"""Salesforce's admin extras: expire sessions, convert a lead without the page."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from crm_sandbox import admin, store
from crm_sandbox.salesforce import records
from crm_sandbox.salesforce.api import gate


def make_blueprint() -> Blueprint:
    bp = admin.make_blueprint("salesforce", wipe_tables=store.SALESFORCE_TABLES)

    @bp.post("/sessions/expire")
    def expire_sessions():
        gate.expire_sessions()
        return jsonify({"expired": True})

    @bp.post("/leads/<lead_id>/convert")
    def convert_lead(lead_id):
        body = request.get_json(silent=True) or {}
        lead = records.convert_lead(store.session(), lead_id,
                                    create_opportunity=bool(body.get("create_opportunity", True)),
                                    opportunity_name=body.get("opportunity_name"))
        return jsonify({field: lead.fields.get(field) for field in (
            "Id", "IsConverted", "ConvertedDate", "ConvertedAccountId", "ConvertedContactId",
            "ConvertedOpportunityId")})

    return bp
