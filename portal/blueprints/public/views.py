"""Public pages for prospects: a partner's referral link (/r/<code>), its embed, the generic form (/refer).

No sign-in, no portal navigation. An unknown code, an inactive link or an inactive partner is the
same friendly 404, and nothing is stored for it.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from portal.web import referral_forms
from portal.blueprints.public import forms
from portal.errors import DomainError, NotFound
from portal.extensions import csrf, limiter
from portal.models.types import utcnow
from portal.services import applications, branding, links, logos
from portal.services.branding import Branding

bp = Blueprint("public", __name__)
# The forms here carry their own signed token (forms.py): an embedded form gets no session cookie.
csrf.exempt(bp)

VISITOR_COOKIE = "rp_visitor"
FIRST_LINK_COOKIE = "rp_first_link"
EMBED_ENDPOINTS = {"public.embed", "public.embed_thanks"}

per_address = limiter.shared_limit(lambda: current_app.config["PUBLIC_FORM_RATE_LIMIT"], scope="public-form",
                                   key_func=lambda: links.address_key(get_remote_address()), methods=["POST"])
per_link = limiter.shared_limit(lambda: current_app.config["PUBLIC_LINK_RATE_LIMIT"], scope="public-link",
                                key_func=lambda: f"link:{(request.view_args or {}).get('code', '')}", methods=["POST"])


@bp.route("/r/<code>", methods=["GET", "POST"])
@per_address
@per_link
def landing(code: str):
    link, brand = _active_link(code), branding.get()
    attribution = links.read_attribution(request.cookies.get(FIRST_LINK_COOKIE), window_days=brand.attribution_days)
    first_visit_at = attribution.first_visit_at if attribution and attribution.link_id == link.id else None
    form, done = _handle_form(link.code, brand, lambda data, token: links.submit(link, data, first_visit_at=first_visit_at,
                                                                           form_token=token))
    if done:
        return redirect(url_for(".thanks", code=code), code=303)
    response = make_response(render_template("public/landing.html", link=link, brand=brand, form=form,
                                             action=url_for(".landing", code=code)), _status())
    if request.method == "GET":
        _count_visit(link, response, first_link_known=attribution is not None, brand=brand)
    return response


@bp.route("/r/<code>/embed", methods=["GET", "POST"])
@per_address
@per_link
def embed(code: str):
    # Framed on the partner's site: no click counting (it loads with every page view there) and no cookies.
    link, brand = _active_link(code), branding.get()
    form, done = _handle_form(link.code, brand, lambda data, token: links.submit(link, data, form_token=token))
    if done:
        return redirect(url_for(".embed_thanks", code=code), code=303)
    return render_template("public/embed.html", link=link, brand=brand, form=form, embed=True,
                           action=url_for(".embed", code=code)), _status()


@bp.get("/r/<code>/thanks")
def thanks(code: str):
    return render_template("public/thanks.html", brand=branding.get())


@bp.get("/r/<code>/embed/thanks")
def embed_thanks(code: str):
    return render_template("public/thanks.html", brand=branding.get(), embed=True)


@bp.route("/refer", methods=["GET", "POST"])
@per_address
def refer():
    brand = branding.get()
    attribution = links.read_attribution(request.cookies.get(FIRST_LINK_COOKIE), window_days=brand.attribution_days)
    form, done = _handle_form("refer", brand, lambda data, token: links.submit_generic(data, attribution=attribution,
                                                                                       form_token=token))
    if done:
        return redirect(url_for(".refer_thanks"), code=303)
    return render_template("public/refer.html", brand=brand, form=form, action=url_for(".refer")), _status()


@bp.get("/refer/thanks")
def refer_thanks():
    return render_template("public/thanks.html", brand=branding.get())


@bp.route("/partners/apply", methods=["GET", "POST"])
@per_address
def partner_apply():
    brand = branding.get()
    form = forms.application_form(vendor_name=brand.vendor_name)
    if form.is_submitted() and forms.is_bot(form):
        return redirect(url_for(".partner_apply_thanks"), code=303)
    if form.validate_on_submit():
        try:
            applications.submit(applications.ApplicationInput(
                company_name=form.company_name.data, domain=form.domain.data, country=form.country.data,
                contact_name=form.contact_name.data, contact_email=form.contact_email.data,
                offering=form.offering.data))
        except DomainError as err:
            form.attach(err)
        else:
            return redirect(url_for(".partner_apply_thanks"), code=303)
    return render_template("public/apply.html", brand=brand, form=form, action=url_for(".partner_apply")), _status()


@bp.get("/partners/apply/thanks")
def partner_apply_thanks():
    return render_template("public/apply_thanks.html", brand=branding.get())


@bp.get("/r/brand.css")
def brand_css():
    response = make_response(branding.stylesheet(branding.get()))
    response.headers["Content-Type"] = "text/css; charset=utf-8"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/brand/logo")
def brand_logo():
    return _brand_image(branding.LOGO)


@bp.get("/brand/favicon")
def brand_favicon():
    return _brand_image(branding.FAVICON)


def _brand_image(name: str) -> Response:
    """The uploaded image at a stable URL: revalidated by its hash (304), never sniffed, an SVG inert."""
    image = branding.image(name)
    if image is None:
        abort(404)
    response = make_response(image.content)
    response.headers["Content-Type"] = image.content_type
    # Pages link it with ?v=<hash>, so a new logo shows at once; the bare URL is revalidated after 5 minutes.
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if image.content_type == logos.SVG:
        # Opened on its own, the SVG may draw with its own styles and nothing else: no script, no fetch.
        response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                       "frame-ancestors 'self'; sandbox")
    response.set_etag(image.sha256)
    return response.make_conditional(request)


@bp.after_request
def frame_policy(response: Response) -> Response:
    """Only the embed may be framed (by PUBLIC_EMBED_FRAME_ANCESTORS); every other page keeps the app's policy."""
    if request.endpoint in EMBED_ENDPOINTS:
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"frame-ancestors {current_app.config['PUBLIC_EMBED_FRAME_ANCESTORS']}; form-action 'self'; base-uri 'self'")
    return response


@bp.errorhandler(NotFound)
@bp.errorhandler(404)
def not_found(err):
    return render_template("public/not_found.html", brand=branding.get(),
                           embed=request.endpoint in EMBED_ENDPOINTS), 404


@bp.errorhandler(429)
def too_many(err: HTTPException):
    return render_template("public/error.html", brand=branding.get(), embed=request.endpoint in EMBED_ENDPOINTS,
                           title="Too many requests",
                           message="We received a lot of requests from your network. Please wait a few minutes "
                                   "and send the form again."), 429


def _active_link(code: str) -> links.ActiveLink:
    link = links.find_active(code)
    if link is None:
        raise NotFound()
    return link


def _handle_form(scope: str, brand: Branding, send) -> tuple:
    """Validate the posted form and `send` its data; (form, True) once it is sent or was a bot's."""
    form = forms.referral_form(scope=scope, vendor_name=brand.vendor_name)
    if form.is_submitted() and forms.is_bot(form):
        return form, True
    if form.validate_on_submit():
        try:
            # The served form's signed token is spent with the referral: a replay creates nothing.
            send(referral_forms.to_input(form), form.csrf_token.data)
        except DomainError as err:
            form.attach(err)
        else:
            return form, True
    return form, False


def _count_visit(link: links.ActiveLink, response: Response, *, first_link_known: bool, brand: Branding) -> None:
    """One unique visitor per link (a refresh is not a click); the first link a visitor came through
    is remembered for the attribution window."""
    if not links.counts_as_visit(request.user_agent.string):
        return
    cookie = request.cookies.get(VISITOR_COOKIE)
    visitor = links.visitor_id(cookie, address=request.remote_addr, user_agent=request.user_agent.string)
    links.record_visit(link, visitor)
    if cookie != visitor:
        _set_cookie(response, VISITOR_COOKIE, visitor, timedelta(days=365))
    if not first_link_known:
        _set_cookie(response, FIRST_LINK_COOKIE, links.attribution_value(link, first_visit_at=utcnow()),
                    timedelta(days=brand.attribution_days))


def _set_cookie(response: Response, name: str, value: str, max_age: timedelta) -> None:
    response.set_cookie(name, value, max_age=int(max_age.total_seconds()), httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])


def _status() -> int:
    return 422 if request.method == "POST" else 200
