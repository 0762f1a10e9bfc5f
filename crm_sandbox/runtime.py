"""Per-process state of each sandbox CRM: fault switches, counters, limits.

It is app-level (one `Sandbox` per Flask app, held in `app.extensions`), thread-safe, and
deliberately not in the database: it describes this process's behaviour, not CRM data.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, request

from crm_sandbox.faults import Counters, Faults
from crm_sandbox.limits import HubSpotLimits, SalesforceLimits
from crm_sandbox.store import Store

# View arguments that name a kind of thing rather than one record: kept in the counter key so
# "POST /crm/v3/objects/contacts/batch/upsert" and ".../deals/batch/upsert" are told apart.
_KIND_ARGS = {"object_type", "from_type", "to_type", "sobject", "version", "ext_field"}


@dataclass
class CrmRuntime:
    name: str
    settings: dict[str, Any]
    faults: Faults = field(default_factory=Faults)
    counters: Counters = field(default_factory=Counters)
    limits: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reset_limits()

    def reset_limits(self) -> None:
        if self.name == "hubspot":
            self.limits = HubSpotLimits(burst=self.settings["SANDBOX_HUBSPOT_BURST_LIMIT"],
                                        daily=self.settings["SANDBOX_HUBSPOT_DAILY_LIMIT"],
                                        search_per_second=self.settings["SANDBOX_HUBSPOT_SEARCH_LIMIT"])
        else:
            self.limits = SalesforceLimits(daily=self.settings["SANDBOX_SALESFORCE_DAILY_LIMIT"])

    def reset(self) -> None:
        """Faults, counters and limits back to their configured defaults."""
        self.faults.clear()
        self.counters.clear()
        self.reset_limits()
        self.extras.pop("sessions_not_before_ms", None)


class Sandbox:
    """The `crm_sandbox` extension of one app."""

    def __init__(self, settings: dict[str, Any]):
        self.settings = settings
        self.store = Store(settings["SANDBOX_DATABASE_URL"])
        self.crms = {name: CrmRuntime(name, settings) for name in ("hubspot", "salesforce")}
        self.clock_offset_ms = 0  # moved by POST /_admin/clock (crm_sandbox/clock.py)


def sandbox() -> Sandbox:
    return current_app.extensions["crm_sandbox"]


def crm(name: str) -> CrmRuntime:
    return sandbox().crms[name]


INSTANCE_ROOT = "crm_sandbox.instance_root"


def base_url(name: str) -> str:
    """`<host>/sandbox/<crm>` as the caller reached it, so links and instance_url work from outside;
    just `<host>` when the CRM is served at the root of its own host (`app.InstanceRoot`)."""
    if request.environ.get(INSTANCE_ROOT) == name:
        return request.url_root.rstrip("/")
    return request.url_root.rstrip("/") + "/sandbox/" + name


def endpoint_key(name: str) -> str:
    prefix = "/sandbox/" + name
    rule = request.url_rule
    if rule is None:
        path = request.path
        return f"{request.method} {path[len(prefix):] if path.startswith(prefix) else path}"
    text = rule.rule[len(prefix):] if rule.rule.startswith(prefix) else rule.rule
    for arg, value in (request.view_args or {}).items():
        if arg in _KIND_ARGS:
            text = text.replace(f"<{arg}>", str(value))
    return f"{request.method} {text}"


def apply_faults(name: str, rate_limited_response, failure_response) -> Response | None:
    """The before-request gate of an API blueprint: latency, forced throttling, failures."""
    decision = crm(name).faults.decide()
    if decision.latency_s:
        time.sleep(decision.latency_s)
    if decision.rate_limited:
        return rate_limited_response()
    if decision.fail_status:
        return failure_response(decision.fail_status)
    return None


def count(name: str, response: Response) -> Response:
    crm(name).counters.record(endpoint_key(name), response.status_code)
    return response
