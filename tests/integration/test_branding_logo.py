"""The logo is uploaded on the branding page (PNG, JPEG, or a sanitised SVG), served at a stable URL
with caching headers, gives every page its favicon, and a file it cannot use changes nothing."""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from flask_migrate import upgrade
from PIL import Image

from portal import create_app
from portal.extensions import db as _db
from portal.models import BrandImage
from portal.services import logos

from tests.factories import internal_user, partner_user

PAGE = "/internal/settings/public-page"
UPLOAD = "/internal/settings/public-page/logo"


def png(width: int = 300, height: int = 100, color=(37, 70, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 240, height: int = 80) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, format="JPEG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (20, 20)).save(out, format="GIF")
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A few hundred bytes whose header says width × height: a decompression bomb's first step."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
            + chunk(b"IEND", b""))


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
       b'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" viewBox="0 0 120 40" inkscape:version="1.3">'
       b'<metadata>made by hand</metadata><defs><linearGradient id="g"><stop offset="0" stop-color="#123"/>'
       b'</linearGradient></defs><rect width="120" height="40" fill="url(#g)"/><text x="4" y="28">Acme</text></svg>')


def upload(client, data: bytes, filename: str):
    return client.submit(UPLOAD, {"logo": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def stored(name: str = "logo") -> BrandImage | None:
    _db.session.expire_all()
    return _db.session.get(BrandImage, name)


@pytest.fixture
def admin(client, db):
    client.login(internal_user("admin"))
    return client


def test_a_png_logo_is_previewed_served_with_caching_headers_and_gives_the_favicon(admin):
    data = png()
    response = upload(admin, data, "logo.png")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"{PAGE}#logo-settings")
    page = admin.get(PAGE).get_data(as_text=True)
    logo = stored()
    assert logo.content == data and logo.content_type == "image/png" and (logo.width, logo.height) == (300, 100)
    assert f'/brand/logo?v={logo.sha256[:12]}' in page and "300 × 100 px" in page  # the preview right after

    served = admin.get("/brand/logo")
    assert served.status_code == 200 and served.data == data
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["ETag"] == f'"{logo.sha256}"'
    assert "max-age" in served.headers["Cache-Control"] and "public" in served.headers["Cache-Control"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    again = admin.get("/brand/logo", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""

    favicon = stored("favicon")
    icon = Image.open(io.BytesIO(admin.get("/brand/favicon").data))
    assert icon.format == "PNG" and icon.size == (logos.FAVICON_SIDE, logos.FAVICON_SIDE)
    # every page links it: the portal's own pages and the prospects'
    link = f'<link rel="icon" href="/brand/favicon?v={favicon.sha256[:12]}" type="image/png">'
    assert link in page
    admin.submit("/logout")
    assert link in admin.get("/login").get_data(as_text=True)
    public = admin.get("/refer").get_data(as_text=True)
    assert link in public and f'<img class="public-logo" src="/brand/logo?v={logo.sha256[:12]}"' in public


def test_a_jpeg_logo_is_served_as_jpeg(admin):
    assert upload(admin, jpeg(), "photo.JPG").status_code == 303
    served = admin.get("/brand/logo")
    assert served.headers["Content-Type"] == "image/jpeg" and served.data == stored().content
    assert Image.open(io.BytesIO(admin.get("/brand/favicon").data)).size == (64, 64)


def test_an_svg_logo_is_stored_without_what_does_not_draw_and_served_under_a_restrictive_policy(admin):
    assert upload(admin, SVG, "logo.svg").status_code == 303
    logo = stored()
    assert logo.content_type == "image/svg+xml"
    assert b"metadata" not in logo.content and b"inkscape" not in logo.content
    assert b'fill="url(#g)"' in logo.content and b"<text" in logo.content
    served = admin.get("/brand/logo")
    assert served.headers["Content-Type"] == "image/svg+xml" and served.headers["X-Content-Type-Options"] == "nosniff"
    policy = served.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "script-src" not in policy
    # browsers take an SVG tab icon as it is
    assert 'type="image/svg+xml"' in admin.get(PAGE).get_data(as_text=True)
    assert admin.get("/brand/favicon").data == logo.content


BAD_FILES = [
    ("notes.png", b"This is a text file with a .png name.\n", "not a PNG, JPEG or SVG image"),
    ("huge.png", png(5000, 4200), "5000 × 4200 pixels; a logo may be at most 4096 × 4096"),
    ("bomb.png", png_claiming(100_000, 100_000), "more pixels than a logo needs"),
    ("heavy.png", png(10, 10) + b"\0" * (logos.MAX_BYTES + 1), "a logo may be at most 1,024 KB"),
    ("cut.png", png()[:200], "damaged or incomplete"),
    ("logo.gif", gif(), "not a PNG, JPEG or SVG image"),
    ("script.svg", b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><script>alert(1)</script></svg>',
     "contains a script"),
    ("handler.svg", b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)"/>',
     "an event handler (onload)"),
    ("html.svg", b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><foreignObject><p>hi</p>'
                 b'</foreignObject></svg>', "embedded HTML"),
    ("external.svg", b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
                     b'viewBox="0 0 10 10"><use xlink:href="https://evil.example/x.svg#a"/></svg>',
     "a link to https://evil.example/x.svg#a"),
    ("entities.svg", b'<!DOCTYPE svg [<!ENTITY lol "lol">]><svg xmlns="http://www.w3.org/2000/svg">&lol;</svg>',
     "declares a DTD or entities"),
]


@pytest.mark.parametrize("filename, data, message", BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_a_file_it_cannot_use_is_a_clear_error_and_changes_nothing(admin, filename, data, message):
    assert upload(admin, png(), "first.png").status_code == 303
    before = (stored().sha256, stored("favicon").sha256)
    response = upload(admin, data, filename)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'aria-invalid="true"' in page
    assert (stored().sha256, stored("favicon").sha256) == before
    assert admin.get("/brand/logo").data == png()


def test_a_post_without_a_file_asks_for_one(admin):
    response = admin.submit(UPLOAD, {}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose an image file to upload." in response.get_data(as_text=True)
    assert stored() is None


def test_removing_the_logo_brings_back_the_name_and_the_portal_favicon(admin):
    upload(admin, png(), "logo.png")
    assert admin.submit(f"{UPLOAD}/remove").status_code == 303
    assert stored() is None and stored("favicon") is None
    assert admin.get("/brand/logo").status_code == 404 and admin.get("/brand/favicon").status_code == 404
    page = admin.get(PAGE).get_data(as_text=True)
    assert "/static/favicon.svg" in page and "/brand/logo" not in page


@pytest.mark.parametrize("role, status", [("manager", 403), ("sales", 403)])
def test_only_internal_admins_upload_a_logo(client, db, role, status):
    client.login(internal_user(role))
    assert upload(client, png(), "logo.png").status_code == status
    assert client.submit(f"{UPLOAD}/remove").status_code == status
    assert stored() is None


def test_partners_get_404_for_the_upload(client, db):
    client.login(partner_user(role="partner_admin"))
    assert upload(client, png(), "logo.png").status_code == 404
    assert stored() is None


def test_the_migration_moves_the_old_logo_path_into_the_database(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "SANDBOX_CRMS": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'migrated.db'}"})
    with app.app_context():
        upgrade(revision="e3a9c4b7d2f1-1")  # the schema just before the brand images
        with _db.engine.begin() as conn:
            conn.execute(_db.text("INSERT INTO settings (key, value, updated_at) VALUES ('branding', :value, "
                                  "'2026-12-01 00:00:00')"),
                         {"value": '{"logo_url": "/static/favicon.svg", "headline": "Hello"}'})
        upgrade()
        logo = _db.session.get(BrandImage, "logo")
        assert logo.content_type == "image/svg+xml" and b"<path" in logo.content
        value = _db.session.scalar(_db.text("SELECT value FROM settings WHERE key = 'branding'"))
        assert "logo_url" not in value and "Hello" in value
        _db.session.remove()
        _db.engine.dispose()
