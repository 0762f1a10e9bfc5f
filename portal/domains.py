"""Company domains: from a website or an email address, never from a free-mail provider.

Used for duplicate detection and for finding the company in a CRM, so both agree on what a
company's domain is.
"""
from __future__ import annotations

FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "hotmail.com", "outlook.com", "live.com",
    "msn.com", "icloud.com", "me.com", "aol.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "proton.me",
    "protonmail.com", "yandex.ru", "mail.ru", "qq.com", "163.com", "zoho.com", "mail.com", "fastmail.com",
})


def normalize(value: str | None) -> str | None:
    """"https://www.Example.com/about" -> "example.com"."""
    domain = (value or "").strip().lower()
    for prefix in ("https://", "http://"):
        domain = domain.removeprefix(prefix)
    domain = domain.removeprefix("www.").split("/")[0].split("?")[0].split("#")[0]
    return domain or None


def of_email(email: str | None) -> str | None:
    """The company domain of an address, or None for a free-mail address."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower()
    return None if domain in FREE_MAIL_DOMAINS else domain or None


def is_company_domain(domain: str | None) -> bool:
    return bool(domain) and domain not in FREE_MAIL_DOMAINS
