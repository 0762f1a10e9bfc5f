"""HubSpot's admin extras: the webhook target, secret and subscriptions."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from crm_sandbox import admin, store
from crm_sandbox.hubspot import webhooks


def make_blueprint() -> Blueprint:
    bp = admin.make_blueprint("hubspot", wipe_tables=store.HUBSPOT_TABLES,
                              on_reset=lambda: webhooks.dispatcher().reset())

    @bp.get("/webhook")
    def webhook():
        return jsonify(webhooks.dispatcher().snapshot())

    @bp.post("/webhook")
    def set_webhook():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ValueError('expected {"target_url": ..., "client_secret": ...}')
        return jsonify(webhooks.dispatcher().configure(body))

    return bp
