"""Personalized referral links: partners create and share them; prospects visit and send the form.

The prospect's side is built to be cheap and hard to abuse: a visit is one indexed lookup plus
an insert-or-ignore of the visitor and, for a new visitor only, one `UPDATE ... clicks + 1`; the
first link a visitor came through travels in a signed cookie value made here; a second submission
of the same email through the same link within a day returns the first referral.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import bindparam
from sqlalchemy.orm import contains_eager

from portal import database
from portal.jobs import locks, mail, queues
from portal.errors import DomainError
from portal.extensions import db
from portal.models import LinkVisit, Organization, OrgStatus, Referral, ReferralLink, Role, Source, Stage, User
from portal.models.types import utcnow
from portal.urls import absolute_url
from portal.services import access, branding, notifications, one_time, read_cache, settings
from portal.services import referrals as referral_service
from portal.services.referrals import ReferralInput

# The same email through the same link within this window is the same request sent again.
RESUBMIT_WINDOW = timedelta(hours=24)
WON_STAGES = (Stage.WON_PAYMENT_PENDING.value, Stage.WON_PAYMENT_COMPLETED.value)
PROSPECT_ACTOR = "Prospect via referral link"
_NOT_VISITORS = re.compile(r"bot|crawl|spider|preview|slurp|facebookexternalhit|whatsapp|embedly|curl/|wget/",
                           re.IGNORECASE)


@dataclass
class LinkRow:
    link: ReferralLink
    won: int


@dataclass
class Attribution:
    """What the first-visit cookie says: which link, and when the visitor first came through it."""

    link_id: int
    first_visit_at: datetime


@dataclass
class PublicSubmission:
    referral: Referral | None
    created: bool


# ---- the partner's side -----------------------------------------------------------------------

def create(*, by: User, campaign: str) -> ReferralLink:
    """A new link for `by` (a partner user) with a campaign label. Raises DomainError without a label."""
    campaign = (campaign or "").strip()
    if not campaign:
        raise DomainError("Give the link a campaign label, e.g. \"Spring newsletter\".", field="campaign")
    if not by.is_partner:
        raise DomainError("Only partner users share referral links.")
    link = ReferralLink(partner_org_id=by.organization_id, user_id=by.id, campaign=campaign[:120], active=True)
    db.session.add(link)
    db.session.commit()
    return link


def set_active(link: ReferralLink, *, active: bool) -> ReferralLink:
    """Switch a link off (its page answers 404 and stores nothing) or on again."""
    link.active = active
    db.session.commit()
    return link


def list_for(user: User) -> list[LinkRow]:
    """The links `user` may see, newest first, each with its number of won referrals."""
    links = list(db.session.scalars(access.visible_links(user).order_by(ReferralLink.created_at.desc(),
                                                                         ReferralLink.id.desc())))
    won = won_counts([link.id for link in links])
    return [LinkRow(link, won.get(link.id, 0)) for link in links]


@dataclass(frozen=True)
class PersonalLink:
    id: int
    code: str


def personal(user: User) -> PersonalLink | None:
    """`user`'s oldest active link (the one an approved partner application made), for the dashboard
    (read-cached: a link's clicks and submissions are counted past the ORM and do not change it)."""
    def load() -> PersonalLink | None:
        row = db.session.execute(db.select(ReferralLink.id, ReferralLink.code)
                                 .where(ReferralLink.user_id == user.id, ReferralLink.active.is_(True))
                                 .order_by(ReferralLink.id).limit(1)).first()
        return PersonalLink(*row) if row is not None else None
    return read_cache.cached(read_cache.LINKS, f"personal:{user.id}", load)


def won_counts(link_ids: list[int]) -> dict[int, int]:
    if not link_ids:
        return {}
    return dict(db.session.execute(
        db.select(Referral.link_id, db.func.count()).where(Referral.link_id.in_(link_ids),
                                                           Referral.stage.in_(WON_STAGES))
        .group_by(Referral.link_id)).all())


def recent_referrals(link: ReferralLink, user: User, *, limit: int = 10) -> list[Referral]:
    """The newest referrals that came through `link`, among those `user` may see."""
    return list(db.session.scalars(access.visible_referrals(user).where(Referral.link_id == link.id)
                                   .order_by(Referral.created_at.desc(), Referral.id.desc()).limit(limit)))


# ---- the prospect's side ----------------------------------------------------------------------

@dataclass(frozen=True)
class ActiveLink:
    """An active link as the prospect's pages read it: plain values, not ORM rows."""

    id: int
    code: str
    partner_name: str


# A link page is the busiest page there is (a campaign sends hundreds of prospects to one link in
# minutes): its two statements are built once per process, since building one costs about what
# running it does, and the page reads columns (loading the link, its partner and its user as ORM
# objects cost more than the statement). The read cache's stamps come in the same round trip, as on
# a signed-in page (services/sessions.py).
_FIND_ACTIVE = (db.select(ReferralLink.id, ReferralLink.code, Organization.name, read_cache.stamps_column())
                .join(ReferralLink.partner_org).outerjoin(ReferralLink.user)
                .where(ReferralLink.code == bindparam("code"), ReferralLink.active.is_(True),
                       Organization.status == OrgStatus.ACTIVE.value,
                       db.or_(ReferralLink.user_id.is_(None), User.active.is_(True))))
# What a submission writes with: the link with its partner, in one statement (the worker tells the
# link's user, `announce`).
_FOR_SUBMISSION = (db.select(ReferralLink).join(ReferralLink.partner_org).where(ReferralLink.id == bindparam("id"))
                   .options(contains_eager(ReferralLink.partner_org)))
# Text, in the syntax PostgreSQL and SQLite share: SQLAlchemy does not cache the compiled form of an
# ON CONFLICT insert, and compiling it cost more than the insert. RETURNING says whether a row went in.
_RECORD_VISIT = db.text("INSERT INTO link_visits (link_id, visitor_hash, first_seen_at)"
                        " VALUES (:link_id, :visitor_hash, :first_seen_at)"
                        " ON CONFLICT (link_id, visitor_hash) DO NOTHING RETURNING id").bindparams(
    bindparam("first_seen_at", type_=LinkVisit.__table__.c.first_seen_at.type))

# The counters go up on the table, built once: an update of the mapped class would also look for the
# link among the session's objects to update it there (nothing reads it after), and cost more than the SQL.
_LINKS = ReferralLink.__table__
_COUNT_CLICK = _LINKS.update().where(_LINKS.c.id == bindparam("link_id")).values(clicks=_LINKS.c.clicks + 1)
_COUNT_SUBMISSION = (_LINKS.update().where(_LINKS.c.id == bindparam("link_id"))
                     .values(submissions=_LINKS.c.submissions + 1))


def find_active(code: str) -> ActiveLink | None:
    """The link behind `code` if it, its partner and the partner user who made it are active; one
    lookup on the unique index. A deactivated colleague's links stop with them."""
    if not code or len(code) > 32:
        return None
    found = db.session.execute(_FIND_ACTIVE, {"code": code}).first()
    if found is None:
        return None
    read_cache.prime(found[3])
    return ActiveLink(*found[:3])


def visitor_id(cookie_value: str | None, *, address: str | None, user_agent: str | None) -> str:
    """The visitor's id: their cookie, or (first visit, or no cookies) a daily hash of address and browser,
    so that a client that keeps no cookies is still counted once a day, not on every load."""
    if cookie_value and 16 <= len(cookie_value) <= 64 and cookie_value.isalnum():
        return cookie_value
    day = utcnow().strftime("%Y-%m-%d")
    return _digest(f"visitor|{address or ''}|{user_agent or ''}|{day}")[:32]


def record_visit(link: ActiveLink | ReferralLink, visitor: str) -> bool:
    """Count `visitor` once per link: True if they are new (and the click counter went up)."""
    database.take_write_lock()  # a GET that writes (portal/database.py)
    values = {"link_id": link.id, "visitor_hash": _digest(f"visit|{visitor}"), "first_seen_at": utcnow()}
    inserted = db.session.execute(_RECORD_VISIT, values).first() is not None
    if inserted:
        db.session.execute(_COUNT_CLICK, {"link_id": link.id})
    db.session.commit()
    return inserted


def attribution_value(link: ActiveLink | ReferralLink, *, first_visit_at: datetime) -> str:
    """The signed first-visit cookie value for `link` (a forged or edited one is ignored)."""
    return _attribution_serializer().dumps({"l": link.id, "t": int(first_visit_at.timestamp())})


def read_attribution(value: str | None, *, window_days: int) -> Attribution | None:
    """The first-visit cookie's link and time, if it is genuine and within the attribution window."""
    if not value:
        return None
    try:
        data = _attribution_serializer().loads(value)
        attribution = Attribution(int(data["l"]), datetime.fromtimestamp(int(data["t"]), timezone.utc))
    except (BadData, KeyError, TypeError, ValueError, OverflowError):
        return None
    if not utcnow() - timedelta(days=window_days) <= attribution.first_visit_at <= utcnow() + timedelta(minutes=5):
        return None
    return attribution


def attributed_link(attribution: Attribution | None) -> ReferralLink | None:
    """The link a first-visit cookie points to, if it and its partner are still active."""
    if attribution is None:
        return None
    link = db.session.get(ReferralLink, attribution.link_id)
    return link if link is not None and link.active and link.partner_org.is_active else None


def submit(link: ActiveLink, data: ReferralInput, *, first_visit_at: datetime | None = None,
           form_token: str | None = None) -> PublicSubmission:
    """A prospect sent the form of `link`: a referral for its partner (source link, no submitting user).

    The same email through the same link within RESUBMIT_WINDOW returns the existing referral and
    sends nothing again. `form_token`, the served form's signed token, is spent with the referral:
    a replayed form creates nothing (AlreadySpent). Everyone is told by the worker (`announce`).
    Raises DomainError for what the prospect must correct.
    """
    return _submit(db.session.execute(_FOR_SUBMISSION, {"id": link.id}).scalar_one(), data, attributed_via="link",
                   first_visit_at=first_visit_at, form_token=form_token)


def submit_generic(data: ReferralInput, *, attribution: Attribution | None,
                   form_token: str | None = None) -> PublicSubmission:
    """A prospect sent the vendor's generic form: a referral of the partner whose link they first came
    through within the attribution window; without one it is no referral, and the vendor's managers
    get it by mail. Raises DomainError for what the prospect must correct."""
    link = attributed_link(attribution)
    if link is not None:
        return _submit(link, data, attributed_via="cookie", first_visit_at=attribution.first_visit_at,
                       form_token=form_token)
    if not data.consent:
        raise DomainError("Please agree to be contacted, so that we can answer you.", field="consent")
    managers = db.session.scalars(db.select(User).join(User.organization).where(
        Organization.kind == "vendor", User.role == Role.MANAGER.value, User.active.is_(True)))
    for manager in managers:
        mail.queue("inbound_inquiry", to=manager, subject=f"Inquiry from {data.company_name or 'a prospect'} "
                   "(no partner)", template="inbound_inquiry", data=data)
    _confirm_to_prospect(data.contact_email, data.contact_first_name)
    _spend(form_token)
    db.session.commit()
    return PublicSubmission(None, created=False)


def _spend(form_token: str | None) -> None:
    if form_token:
        one_time.spend(form_token, purpose="public-form", lifetime_seconds=current_app.config["PUBLIC_FORM_MAX_AGE"])


def address_key(address: str | None) -> str:
    """The rate limiter's key for a client address: a salted hash, so no raw address is kept."""
    return _digest(f"address|{address or ''}")[:32]


def counts_as_visit(user_agent: str | None) -> bool:
    """Link previews (chat apps unfurling a shared link) and crawlers are not visitors."""
    return not _NOT_VISITORS.search(user_agent or "")


def _submit(link: ReferralLink, data: ReferralInput, *, attributed_via: str,
            first_visit_at: datetime | None, form_token: str | None = None) -> PublicSubmission:
    # Submissions of one address to one link are serialized, so two clicks of the same button cannot
    # both pass the duplicate check below; other prospects of the same link go on in parallel.
    locks.lock_key(f"link-submission:{link.id}:{(data.contact_email or '').strip().lower()}")
    existing = _recent_submission(link, data.contact_email)
    if existing is not None:
        db.session.rollback()
        return PublicSubmission(existing, created=False)
    # Spent first (a refused submission rolls it back): its statement then flushes nothing.
    _spend(form_token)

    def attach(referral: Referral) -> None:
        # The prospect waits for none of the telling: the worker writes (and renders) the vendor's,
        # the partner's and the prospect's mails and notifications after the commit (`announce`).
        queues.enqueue_after_commit(ANNOUNCE_JOB, referral.id, job_id=_announce_job_id(referral.id), fresh_id=True)
        # Every prospect of the link waits for the counter's row lock until this commit ends: the
        # referral's own writes go first (flushed now, not by the commit), so the lock is held for
        # the tallies' writes and the commit alone.
        db.session.flush()
        db.session.execute(_COUNT_SUBMISSION, {"link_id": link.id})

    result = referral_service.submit(data, partner_org=link.partner_org, by=None, source=Source.LINK.value,
                                     actor_label=PROSPECT_ACTOR, before_commit=attach, announce=False,
                                     origin={"link_id": link.id, "attributed_via": attributed_via,
                                             "first_visit_at": first_visit_at, "announcement_pending": True})
    return PublicSubmission(result.referral, created=True)


ANNOUNCE_JOB = "portal.jobs.tasks.announce_link_referral"
# A job still queued is not lost: the sweep re-drives only what has waited longer than this.
ANNOUNCE_REDRIVE_AFTER = timedelta(minutes=2)


def announce(referral_id: int) -> bool:
    """The worker's half of a prospect's submission: the vendor's managers, the link's owner and the
    partner's admins are told, and the prospect thanked. Once: a second run (a re-driven job, a retry)
    finds the referral announced and does nothing. Returns whether it told anyone."""
    referral = db.session.get(Referral, referral_id, with_for_update=True)
    if referral is None or not referral.announcement_pending:
        db.session.rollback()
        return False
    notifications.referral_submitted(referral)
    if referral.link is not None:
        notifications.link_referral_received(referral, referral.link)
    _confirm_to_prospect(referral.contact_email, referral.contact_first_name, via_partner=True)
    referral.announcement_pending = False
    db.session.commit()
    return True


def redrive_announcements() -> int:
    """The sweep's part: enqueue again the announcements whose job was lost (Redis restarted, a worker
    killed). Returns how many."""
    # The bare column, as the partial index's predicate says it (`IS true` would scan the table).
    ids = db.session.scalars(db.select(Referral.id).where(
        Referral.announcement_pending, Referral.created_at < utcnow() - ANNOUNCE_REDRIVE_AFTER))
    return sum(queues.enqueue_now(ANNOUNCE_JOB, referral_id, job_id=_announce_job_id(referral_id))
               for referral_id in list(ids))


def _announce_job_id(referral_id: int) -> str:
    return f"announce-referral-{referral_id}"


def _recent_submission(link: ReferralLink, email: str | None) -> Referral | None:
    email = (email or "").strip().lower()
    if not email:
        return None
    found = db.session.scalar(_RECENT_SUBMISSION, {"link_id": link.id, "email": email,
                                                   "since": utcnow() - RESUBMIT_WINDOW})
    return db.session.get(Referral, found) if found is not None else None


# Every submission asks (and almost always finds none): built once, the id only.
_RECENT_SUBMISSION = (db.select(Referral.id).where(Referral.link_id == bindparam("link_id"),
                                                   Referral.contact_email == bindparam("email"),
                                                   Referral.created_at >= bindparam("since"))
                      .order_by(Referral.id).limit(1))


def _confirm_to_prospect(email: str | None, first_name: str | None, *, via_partner: bool = False) -> None:
    """Thank the prospect; after a partner's form, and if the admins chose so, invite them to the
    partner program too (Settings → Partner program)."""
    if not email:
        return
    brand = branding.get()
    program_url = None
    if via_partner and settings.get("partner_program")["offer_in_confirmation"]:
        program_url = absolute_url("public.partner_apply")
    mail.queue("prospect_confirmation", to=email.strip().lower(), subject=f"Thank you for contacting {brand.vendor_name}",
               template="prospect_confirmation", brand=brand, first_name=(first_name or "").strip(),
               program_url=program_url)


def _digest(message: str) -> str:
    # Salted with the app's secret: a stored hash cannot be matched against guessed addresses.
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message.encode(), hashlib.sha256).hexdigest()


def _attribution_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="referral-link-attribution")
