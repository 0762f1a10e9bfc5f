"""Where a partner organization is paid: bank account or PayPal, and a tax id. Encrypted at rest
(Fernet, as the CRM tokens are, with a key of its own), shown masked; only the payout file has them whole."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from portal.errors import DomainError
from portal.extensions import db
from portal.models import Organization, PayeeAccount, User

METHODS = {"bank": "Bank transfer", "paypal": "PayPal"}
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$")
_BIC = re.compile(r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _fernet() -> Fernet:
    key = current_app.config.get("PAYEE_ENCRYPTION_KEY")
    if key:
        return Fernet(key.encode() if isinstance(key, str) else key)
    # Derived from SECRET_KEY with its own domain, so a leaked CRM key does not open payee details.
    digest = hashlib.sha256(b"portal-payee-details:" + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def _decrypt(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as err:
        raise DomainError("The payee details cannot be read with this server's key; enter them again.") from err


@dataclass
class Payee:
    method: str
    account_name: str
    iban: str = ""
    bic: str = ""
    paypal_email: str = ""
    tax_id: str = ""

    @property
    def method_label(self) -> str:
        return METHODS.get(self.method, self.method)

    def masked(self) -> dict[str, str]:
        """What pages show: enough to recognise the account, not to use it."""
        shown = {"Method": self.method_label, "Account holder": self.account_name}
        if self.method == "bank":
            shown["IBAN"] = _mask(self.iban, keep=4)
            shown["BIC"] = self.bic[:4] + "…" if self.bic else "—"
        else:
            name, _, domain = self.paypal_email.partition("@")
            shown["PayPal"] = f"{name[:1]}…@{domain}" if domain else "—"
        shown["Tax id"] = _mask(self.tax_id, keep=3) if self.tax_id else "—"
        return shown

    def for_payout(self) -> str:
        """The whole details, for the payout file the bank or PayPal receives."""
        if self.method == "bank":
            return f"IBAN {self.iban} BIC {self.bic}"
        return f"PayPal {self.paypal_email}"


def _mask(value: str, *, keep: int) -> str:
    value = value or ""
    return "•" * max(len(value) - keep, 0) + value[-keep:] if value else "—"


def payee_for(org: Organization) -> Payee | None:
    account = db.session.scalar(db.select(PayeeAccount).where(PayeeAccount.organization_id == org.id))
    if account is None:
        return None
    details = json.loads(_decrypt(account.details_encrypted) or "{}")
    return Payee(method=account.method, account_name=account.account_name, iban=details.get("iban", ""),
                 bic=details.get("bic", ""), paypal_email=details.get("paypal_email", ""),
                 tax_id=_decrypt(account.tax_id_encrypted) or "")


def save(org: Organization, *, by: User, method: str, account_name: str, iban: str = "", bic: str = "",
         paypal_email: str = "", tax_id: str = "") -> PayeeAccount:
    """Set where `org` is paid (its partner admin, or an internal admin). Raises DomainError per field."""
    if org.is_vendor:
        raise DomainError("The vendor is not paid commissions.")
    if method not in METHODS:
        raise DomainError("Choose bank transfer or PayPal.", field="method")
    account_name = (account_name or "").strip()
    if not account_name:
        raise DomainError("Enter the account holder's name.", field="account_name")
    if method == "bank":
        iban, bic = re.sub(r"\s+", "", iban or "").upper(), re.sub(r"\s+", "", bic or "").upper()
        if not _IBAN.match(iban):
            raise DomainError("Enter the IBAN: two letters, two digits, then the account (no spaces needed).",
                              field="iban")
        if not _BIC.match(bic):
            raise DomainError("Enter the BIC: 8 or 11 letters and digits.", field="bic")
        details = {"iban": iban, "bic": bic}
    else:
        paypal_email = (paypal_email or "").strip().lower()
        if not _EMAIL.match(paypal_email):
            raise DomainError("Enter the PayPal account's email address.", field="paypal_email")
        details = {"paypal_email": paypal_email}
    account = db.session.scalar(db.select(PayeeAccount).where(PayeeAccount.organization_id == org.id))
    account = account or PayeeAccount(organization_id=org.id)
    account.method, account.account_name = method, account_name[:200]
    account.details_encrypted = _encrypt(json.dumps(details))
    tax_id = (tax_id or "").strip()
    account.tax_id_encrypted = _encrypt(tax_id[:60]) if tax_id else None
    account.updated_by_id = by.id
    db.session.add(account)
    db.session.commit()
    return account
