"""Which CRM Account is a portal organization? Pure scoring for the matching wizard (issue #14).

An organization is compared with each Account by three kinds of evidence, each worth points:
its name (the same; the same once legal forms, punctuation and case are ignored; or similar), its
website domain against the Account's, and its users' email domains against the Account's website
and contacts. The best Account scoring at least `THRESHOLD` is suggested, with the reasons shown.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Iterable

# Legal forms and filler words that say nothing about which company it is ("Acme Corp" = "ACME
# Corporation Ltd"): dropped wherever they stand in the name.
LEGAL_FORMS = frozenset("""
    inc incorporated corp corporation co company ltd limited llc llp lp plc gmbh mbh ag kg kgaa ug se
    sa sas sarl srl spa bv nv oy oyj ab as asa aps pty pte kk the and
""".split())
THRESHOLD = 35          # below this, no suggestion: the admin selects or creates
SIMILAR_RATIO = 0.8     # normalised names at least this similar count as "similar"
POINTS = {"same_name": 60, "normalised_name": 50, "similar_name": 45, "domain": 40, "email_domain": 25}


def normalise(name: str | None) -> str:
    """"ACME Corporation, Ltd." -> "acme"; "Müller & Söhne GmbH" -> "muller sohne"."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    words = re.findall(r"[a-z0-9]+", text)
    kept = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(kept or words)


@dataclass
class Organization:
    """What is compared of a portal organization."""

    id: int
    name: str
    domain: str | None = None
    email_domains: tuple[str, ...] = ()


@dataclass
class Account:
    """What is compared of a CRM Account (its domains: website and contacts' email domains)."""

    crm_id: str
    name: str
    website_domain: str | None = None
    domains: tuple[str, ...] = ()


@dataclass
class Suggestion:
    crm_id: str
    score: int
    reasons: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """The reasons as one sentence: "Same name; same website domain (acme.example)"."""
        text = "; ".join(self.reasons)
        return text[:1].upper() + text[1:]


def score(org: Organization, account: Account) -> Suggestion:
    """The points and reasons for `account` being `org` (capped at 100)."""
    points, reasons = 0, []
    org_name, account_name = normalise(org.name), normalise(account.name)
    if (org.name or "").strip().casefold() == (account.name or "").strip().casefold():
        points += POINTS["same_name"]
        reasons.append("same name")
    elif org_name and org_name == account_name:
        points += POINTS["normalised_name"]
        reasons.append(f"same name once legal forms, punctuation and case are ignored (“{org_name}”)")
    elif org_name and account_name:
        ratio = SequenceMatcher(None, org_name, account_name).ratio()
        if ratio >= SIMILAR_RATIO:
            points += round(POINTS["similar_name"] * ratio)
            reasons.append(f"similar name ({round(100 * ratio)} % alike)")
    domain = (org.domain or "").lower() or None
    if domain and domain == account.website_domain:
        points += POINTS["domain"]
        reasons.append(f"same website domain ({domain})")
    counted = domain if domain and domain == account.website_domain else None  # the same evidence twice
    shared = [d for d in org.email_domains if d in account.domains and d != counted]
    if shared:
        points += POINTS["email_domain"]
        reasons.append(f"its users’ email domain {shared[0]} is the Account’s")
    return Suggestion(account.crm_id, min(100, points), reasons)


class Index:
    """The Accounts by normalised name, by name word and by domain, so that each organization is
    scored only against the Accounts that share something with it (not every Account)."""

    def __init__(self, accounts: Iterable[Account]):
        self.accounts: dict[str, Account] = {}
        self.by_word: dict[str, set[str]] = {}
        self.by_domain: dict[str, set[str]] = {}
        for account in accounts:
            self.accounts[account.crm_id] = account
            for word in normalise(account.name).split():
                self.by_word.setdefault(word, set()).add(account.crm_id)
            for domain in account.domains:
                self.by_domain.setdefault(domain, set()).add(account.crm_id)

    def candidates(self, org: Organization) -> set[str]:
        found: set[str] = set()
        for word in normalise(org.name).split():
            found |= self.by_word.get(word, set())
        for domain in {org.domain, *org.email_domains} - {None}:
            found |= self.by_domain.get(domain, set())
        return found

    def suggest(self, org: Organization) -> Suggestion | None:
        """The best Account for `org` (ties: the Account's name), or None when none scores enough."""
        scored = [score(org, self.accounts[crm_id]) for crm_id in self.candidates(org)]
        scored = [s for s in scored if s.score >= THRESHOLD]
        if not scored:
            return None
        return min(scored, key=lambda s: (-s.score, self.accounts[s.crm_id].name.lower(), s.crm_id))
