"""Salesforce record ids: 3-character key prefix, 15 case-sensitive characters, 3-character suffix.

The suffix is Salesforce's case-safe checksum, so the ids look and behave like real 18-character
ids (clients that convert 15↔18 characters keep working).
"""
from __future__ import annotations

import secrets
import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"

PREFIXES = {"Account": "001", "Contact": "003", "Opportunity": "006", "Lead": "00Q",
            "RecordType": "012", "User": "005", "Organization": "00D",
            # Setup objects' prefixes as seen in orgs (LeadStatus 01J, OpportunityStage 01J… differ
            # by release; unverified): only their shape matters to a client.
            "LeadStatus": "01J", "OpportunityStage": "01M", "OpportunityContactRole": "00K"}


def with_checksum(id15: str) -> str:
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5:chunk * 5 + 5]):
            if char.isupper():
                bits |= 1 << position
        suffix += _SUFFIX[bits]
    return id15 + suffix


def new_id(sobject: str) -> str:
    body = "".join(secrets.choice(_BASE62) for _ in range(10))
    return with_checksum(PREFIXES[sobject] + "5S" + body)


def fixed_id(sobject: str, number: int) -> str:
    """A stable id (record types, the sandbox user, the org)."""
    return with_checksum(PREFIXES[sobject] + "5S" + f"{number:010d}")


def looks_like_id(value: str) -> bool:
    return isinstance(value, str) and len(value) in (15, 18) and value.isalnum()


def to_18(value: str) -> str:
    return with_checksum(value) if len(value) == 15 else value


ORG_ID = fixed_id("Organization", 1)
USER_ID = fixed_id("User", 1)
MASTER_RECORD_TYPE = "012000000000000AAA"  # the Master record type id of every org
