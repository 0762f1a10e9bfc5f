"""The vendor's branding on the public referral pages, chosen by internal admins.

Colours reach the page through a small stylesheet (`/r/brand.css`), never inline styles: the
CSP allows styles from 'self' only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from portal.errors import DomainError
from portal.extensions import db
from portal.models import Organization, OrgKind
from portal.services import read_cache, settings

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Branding:
    vendor_name: str
    logo_url: str
    primary_color: str
    headline: str
    intro: str
    privacy_text: str
    attribution_days: int

    @property
    def initial(self) -> str:
        return (self.vendor_name[:1] or "R").upper()


def get() -> Branding:
    """The branding in force: the admins' choices over the defaults; the vendor's own name if none is set."""
    return read_cache.cached(read_cache.SETTINGS, "branding:in-force", _load)


def _load() -> Branding:
    value = settings.get("branding")
    name = value["vendor_name"].strip()
    if not name:
        name = db.session.scalar(db.select(Organization.name).where(Organization.kind == OrgKind.VENDOR.value)) or ""
    return Branding(vendor_name=name or "Our team", logo_url=value["logo_url"],
                    primary_color=value["primary_color"] if _COLOR.match(value["primary_color"]) else "#2546c8",
                    headline=value["headline"], intro=value["intro"], privacy_text=value["privacy_text"],
                    attribution_days=int(value["attribution_days"]))


def update(*, vendor_name: str, logo_url: str, primary_color: str, headline: str, intro: str, privacy_text: str,
           attribution_days: int) -> None:
    """Save the public pages' branding. Raises DomainError for a colour, logo or window it cannot use."""
    logo_url = (logo_url or "").strip()
    # The CSP allows images from this site only, so an outside logo would show as a broken image.
    if logo_url and (not logo_url.startswith("/") or logo_url.startswith("//")):
        raise DomainError("Use a path on this site, such as /static/img/logo.svg.", field="logo_url")
    if not _COLOR.match(primary_color or ""):
        raise DomainError("Use a colour such as #2546c8.", field="primary_color")
    if not 1 <= attribution_days <= 365:
        raise DomainError("Use between 1 and 365 days.", field="attribution_days")
    if not (headline or "").strip():
        raise DomainError("The page needs a headline.", field="headline")
    settings.save("branding", {
        "vendor_name": (vendor_name or "").strip(), "logo_url": logo_url, "primary_color": primary_color.lower(),
        "headline": headline.strip(), "intro": (intro or "").strip(), "privacy_text": (privacy_text or "").strip(),
        "attribution_days": attribution_days,
    })
    db.session.commit()


def stylesheet(branding: Branding) -> str:
    """The custom properties that give the public pages the vendor's colour (see app.css `.public`)."""
    primary = branding.primary_color.lower()
    red, green, blue = (int(primary[i:i + 2], 16) for i in (1, 3, 5))
    dark = "#{:02x}{:02x}{:02x}".format(*(int(c * 0.78) for c in (red, green, blue)))
    # Text on the colour: white unless the colour is light (WCAG relative luminance).
    on_primary = "#ffffff" if _luminance(red, green, blue) < 0.18 else "#111827"
    soft = "#{:02x}{:02x}{:02x}".format(*(int(c + (255 - c) * 0.9) for c in (red, green, blue)))
    return (f":root {{ --brand: {primary}; --brand-dark: {dark}; --brand-soft: {soft}; "
            f"--on-brand: {on_primary}; }}\n")


def _luminance(red: int, green: int, blue: int) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)
