"""The integration log in plain words: SyncLog rows gathered into sync runs, each with a one-line
summary, and each failed record explained with what to do and a link to the place to fix it.

Presentation only: what the engine writes is read as it is. A run is inferred as consecutive entries
of one connection and direction, each within RUN_GAP of the previous one (a push or pull job writes
its rows within seconds; the next job comes minutes later).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from flask import url_for

RUN_GAP = timedelta(minutes=2)
PROVIDERS = {"hubspot": "HubSpot", "salesforce": "Salesforce"}
_OK_WORDS = {"create deal": ("deal created", "deals created"), "update deal": ("deal updated", "deals updated"),
             "update referral": ("referral updated from the CRM", "referrals updated from the CRM")}


@dataclass
class Explained:
    text: str                      # what happened, in a sentence
    advice: str | None = None      # what to do about it
    fix_url: str | None = None
    fix_label: str | None = None
    failure: bool = True           # False for an expected answer (a look-up that found nothing yet)


# The page of each kind of record the log names (its entity type -> endpoint, argument).
RECORD_PAGES = {"referral": ("internal.referral_detail", "referral_id"),
                "deal_registration": ("internal.deal_detail", "deal_id")}


def record_url(row) -> str | None:
    """The page of the record a log row is about, if the portal has one for its kind."""
    page = RECORD_PAGES.get(getattr(row, "entity_type", None) or "referral")
    return url_for(page[0], **{page[1]: row.entity_id}) if page and row.entity_id else None


@dataclass
class Entry:
    row: object                    # the SyncLog row
    number: str | None
    explained: Explained

    @property
    def url(self) -> str | None:
        return record_url(self.row)


@dataclass
class Run:
    connection: object | None
    direction: str
    entries: list[Entry] = field(default_factory=list)

    @property
    def started(self):
        return self.entries[-1].row.at

    @property
    def ended(self):
        return self.entries[0].row.at

    @property
    def failed(self) -> int:
        """Failed records; a failed call counts only when no record of the run is named as failed."""
        failures = [e for e in self.entries if e.row.status == "error" and e.explained.failure]
        per_record = [e for e in failures if e.row.entity_id]
        return len(per_record) if per_record else len(failures)

    @property
    def summary(self) -> str:
        """"12 deals updated, 1 failed": what the run did, by outcome."""
        done = Counter(e.row.action for e in self.entries if e.row.status == "ok")
        parts = [f"{count} {_OK_WORDS.get(action, (action, action))[count != 1]}" for action, count in done.items()]
        retried = sum(1 for e in self.entries if e.row.status == "retry")
        skipped = sum(1 for e in self.entries if e.row.status == "skipped")
        if retried:
            parts.append(f"{retried} {'call' if retried == 1 else 'calls'} retried")
        if skipped:
            parts.append(f"{skipped} skipped")
        if self.failed:
            parts.append(f"{self.failed} failed")
        return ", ".join(parts) or "nothing to do"


def runs(rows, *, connections: dict, numbers: dict) -> list[Run]:
    """The page's rows (newest first) gathered into runs, each row explained."""
    grouped: list[Run] = []
    previous = None
    for row in rows:
        same_run = (previous is not None and previous.connection_id == row.connection_id
                    and previous.direction == row.direction and previous.at - row.at <= RUN_GAP)
        if not same_run:
            grouped.append(Run(connections.get(row.connection_id), row.direction))
        connection = connections.get(row.connection_id)
        kind = getattr(row, "entity_type", None) or "referral"
        number = (numbers.get((kind, row.entity_id)) or (numbers.get(row.entity_id) if kind == "referral" else None)
                  if row.entity_id else None)
        grouped[-1].entries.append(Entry(row, number, explain(row, connection=connection, number=number)))
        previous = row
    return grouped


def explain(row, *, connection=None, number: str | None = None) -> Explained:
    """One log row as a sentence a person can act on."""
    crm = PROVIDERS.get(getattr(connection, "provider", None), "The CRM")
    message = row.message or ""
    if row.status == "ok":
        if row.direction == "pull":
            return Explained(f"Updated from {crm}: {message}.", failure=False)
        verb = "created" if row.action.startswith("create") else "updated"
        return Explained(f"{message or 'The record'} {verb} in {crm}.", failure=False)
    if row.action == "http" and message.startswith("404") and (row.request_summary or "").startswith("GET"):
        # Looking a property or record up before creating it: "not found" is the expected answer.
        return Explained(f"Looked up in {crm}: not there yet ({row.request_summary}); the portal creates it.",
                         failure=False)
    if row.status == "skipped":
        return Explained(message or "Nothing to send.", failure=False)
    return _explain_failure(row, crm, message, connection, number)


def _explain_failure(row, crm: str, message: str, connection, number) -> Explained:
    mappings = url_for("integrations.mappings_edit", connection_id=connection.id) if connection else None
    settings = url_for("integrations.connection_edit", connection_id=connection.id) if connection else None
    record = record_url(row)
    status = message.split(":", 1)[0].strip()
    detail = _details(message, crm)

    if row.action == "http" and status == "400":
        return Explained(f"{crm} refused part of a batch: {detail}.",
                         "The records concerned are listed in this run with what to do.", mappings,
                         "Open Field mappings")
    option = re.search(r"(\S+) was not one of the allowed options: \[(.*?)\]", message)
    if option:
        value, allowed = option.group(1), option.group(2).replace("'", "")
        return Explained(f"{crm} has no option “{value}” for a mapped property (its options: {allowed}).",
                         "Map the portal's value to one of them in the value map of Field mappings, then sync again.",
                         mappings, "Open Field mappings")
    date = re.search(r"([^;]+?) was not a valid date", detail)
    if date:
        return Explained(f"{crm} expects a date, and the referral's value “{date.group(1)}” is not one.",
                         "Map a date field to that property in Field mappings, or correct the value on the referral.",
                         mappings, "Open Field mappings")
    missing = re.search(r'[Pp]roperty "?([\w.]+)"? does not exist|PROPERTY_DOESNT_EXIST', message)
    if missing:
        name = missing.group(1) or "a mapped property"
        return Explained(f"{crm} has no property “{name}”.",
                         "Correct or remove that row in Field mappings.", mappings, "Open Field mappings")
    if status in {"401", "403"}:
        return Explained(f"{crm} refused the connection's access token.",
                         "Enter a new private-app token in the connection's settings.", settings,
                         "Open the connection settings")
    if status == "429" or row.status == "retry":
        return Explained(f"{crm} asked the portal to slow down or did not answer in time ({status}).",
                         "Nothing to do: the portal waits and tries again by itself.")
    if status == "network" or status.startswith("5"):
        return Explained(f"{crm} could not be reached ({status}).",
                         "Nothing to do unless it keeps failing: pending records stay queued and are sent again.",
                         settings, "Check the connection")
    if "did not return" in message:
        return Explained(f"{crm} did not confirm this record in its answer.",
                         "It goes again with the next push; “Sync now” on the referral's page sends it at once.",
                         record, f"Open {number or 'the referral'}")
    return Explained(f"{crm} refused this record: {detail or message or 'no reason given'}.",
                     "Check the referral's fields and the mappings, then use “Sync now” on the referral's page.",
                     record or mappings, f"Open {number or 'the referral'}" if record else "Open Field mappings")


def _details(message: str, crm: str) -> str:
    """The CRM's own words inside a stored message: the "message" values of a JSON error body, or the
    text after the status and the engine's prefix."""
    quoted = re.findall(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"', message)
    if quoted:
        return "; ".join(dict.fromkeys(q.replace('\\"', '"') for q in quoted))
    text = re.sub(rf"^{re.escape(crm)} rejected the deal \(\d+\):\s*", "", message)
    return re.sub(r"^(\d{3}|network):\s*", "", text).strip()
