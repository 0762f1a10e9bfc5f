"""The vendor's branding on the public referral pages, chosen by internal admins.

Colours reach the page through a small stylesheet (`/r/brand.css`), never inline styles: the
CSP allows styles from 'self' only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from portal.errors import DomainError
from portal.extensions import db
from portal.models.types import utcnow
from portal.models import BrandImage, Organization, OrgKind
from portal.services import logos, read_cache, settings

LOGO, FAVICON = "logo", "favicon"

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Branding:
    vendor_name: str
    primary_color: str
    headline: str
    intro: str
    privacy_text: str
    attribution_days: int
    # The uploaded logo's and favicon's sha256 (their URLs carry it, so a new upload is fetched at once).
    logo_version: str | None = None
    favicon_version: str | None = None
    favicon_type: str | None = None

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
    images = {row.name: row for row in db.session.execute(
        db.select(BrandImage.name, BrandImage.sha256, BrandImage.content_type)).all()}
    logo, favicon = images.get(LOGO), images.get(FAVICON)
    return Branding(vendor_name=name or "Our team",
                    primary_color=value["primary_color"] if _COLOR.match(value["primary_color"]) else "#2546c8",
                    headline=value["headline"], intro=value["intro"], privacy_text=value["privacy_text"],
                    attribution_days=int(value["attribution_days"]),
                    logo_version=logo.sha256 if logo else None,
                    favicon_version=favicon.sha256 if favicon else None,
                    favicon_type=favicon.content_type if favicon else None)


def image(name: str) -> BrandImage | None:
    """The stored logo or favicon, or None when no logo was uploaded."""
    return db.session.get(BrandImage, name) if name in (LOGO, FAVICON) else None


def upload_logo(data: bytes) -> BrandImage:
    """Replace the logo (and the favicon made from it). Raises DomainError for a file it cannot use;
    then nothing changes."""
    logo = logos.read(data)
    _store(LOGO, logo.logo)
    _store(FAVICON, logo.favicon)
    db.session.commit()
    return image(LOGO)


def remove_logo() -> None:
    """Back to the name with its initial, and the portal's own favicon."""
    for row in db.session.scalars(db.select(BrandImage).where(BrandImage.name.in_([LOGO, FAVICON]))):
        db.session.delete(row)
    db.session.commit()


def _store(name: str, picture: logos.Picture) -> None:
    row = db.session.get(BrandImage, name) or BrandImage(name=name)
    row.content, row.content_type, row.sha256 = picture.content, picture.content_type, picture.sha256
    row.width, row.height, row.uploaded_at = picture.width, picture.height, utcnow()
    db.session.add(row)


def update(*, vendor_name: str, primary_color: str, headline: str, intro: str, privacy_text: str,
           attribution_days: int) -> None:
    """Save the public pages' branding. Raises DomainError for a colour or window it cannot use."""
    if not _COLOR.match(primary_color or ""):
        raise DomainError("Use a colour such as #2546c8.", field="primary_color")
    if not 1 <= attribution_days <= 365:
        raise DomainError("Use between 1 and 365 days.", field="attribution_days")
    if not (headline or "").strip():
        raise DomainError("The page needs a headline.", field="headline")
    settings.save("branding", {
        "vendor_name": (vendor_name or "").strip(), "primary_color": primary_color.lower(),
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
