"""Who hears about what: email through the outbox and an in-app notification, per recipient.

Users opt out of an event per email on their profile (security mail is never optional); the
in-app list always records it.
"""
from __future__ import annotations

from portal.jobs import mail
from portal.extensions import db
from portal.models import DealRegistration, Lead, Notification, Organization, Referral, ReferralLink, Role, User
from portal.models.notifications import UNREAD_COUNTED
from portal.models.types import utcnow
from portal.urls import absolute_url, path_for

NOTIFICATION_EVENTS: dict[str, str] = {
    "referral_submitted": "A new referral is submitted",
    "referral_accepted": "A referral is accepted",
    "referral_rejected": "A referral is rejected",
    "referral_won": "A referral is won",
    "commission_paid": "A commission is paid",
    "lead_assigned": "A lead is assigned to my organization",
    "link_referral": "A prospect sends the form of a referral link",
    "deal_submitted": "A deal registration is submitted (or names my organization as distributor)",
    "deal_pre_approved": "A deal registration is pre-approved",
    "deal_approved": "A deal registration is approved",
    "deal_rejected": "A deal registration is rejected",
    "deal_expiring": "A deal registration's protection ends soon",
    "deal_expired": "A deal registration expired",
    "deal_extension": "An extension of a deal registration is asked for, granted or refused",
    "deal_won": "A deal registration is won",
    "deal_lost": "A deal registration is lost",
    "deal_owner": "A deal registration is registered for me by a distributor",
    "lead_reminder": "A lead waits for an answer",
    "lead_returned": "A lead comes back without a reseller",
    "referral_deal": "The deal for my referral is registered or won",
}


def referral_submitted(referral: Referral) -> None:
    """New referral: the vendor's managers (and its owner once one is assigned)."""
    recipients = _vendor_users(Role.MANAGER.value)
    if referral.owner is not None:
        recipients.append(referral.owner)
    _send("referral_submitted", recipients, referral=referral, endpoint="internal.referral_detail",
          subject=f"New referral {referral.number}: {referral.company_name} from {referral.partner_org.name}",
          headline=f"{referral.partner_org.name} referred {referral.company_name}.")


def referral_changed(event: str, referral: Referral, *, headline: str, subject: str) -> None:
    """Accepted, rejected, won, commission paid: the submitting partner user and the partner's admins."""
    recipients = [referral.submitted_by] if referral.submitted_by is not None else []
    recipients += _org_users(referral.partner_org, Role.PARTNER_ADMIN.value)
    _send(event, recipients, referral=referral, endpoint="partner.referral_detail", subject=subject, headline=headline)


def link_referral_received(referral: Referral, link: ReferralLink) -> None:
    """A prospect used a partner's referral link: the link's owner and the partner's admins."""
    recipients = [link.user] if link.user is not None else []
    recipients += _org_users(referral.partner_org, Role.PARTNER_ADMIN.value)
    _send("link_referral", recipients, referral=referral, endpoint="partner.referral_detail",
          subject=f"New referral through your link '{link.campaign}': {referral.company_name}",
          headline=f"{referral.contact_name} of {referral.company_name} sent the form of the referral link "
                   f"'{link.campaign}' ({link.owner_name}).")


def owner_assigned(referral: Referral) -> None:
    if referral.owner is not None:
        _send("referral_submitted", [referral.owner], referral=referral, endpoint="internal.referral_detail",
              subject=f"Referral {referral.number} is yours: {referral.company_name}",
              headline=f"You are the owner of referral {referral.number} from {referral.partner_org.name}.")


def lead_assigned(lead: Lead) -> None:
    """A lead went to a reseller: its admins hear about it."""
    referral = lead.referral
    _send("lead_assigned", _org_users(lead.assigned_org, Role.PARTNER_ADMIN.value), referral=referral,
          endpoint="partner.lead_detail", endpoint_args={"lead_id": lead.id},
          subject=f"New lead for {lead.assigned_org.name}: {referral.company_name if referral else 'a customer'}",
          headline=f"A lead was assigned to {lead.assigned_org.name}. Please accept or decline it by "
                   f"{lead.respond_by:%Y-%m-%d}.")


def lead_reminder(lead: Lead) -> None:
    """The respond-by date comes near and the reseller has not answered."""
    referral = lead.referral
    _send("lead_reminder", _org_users(lead.assigned_org, Role.PARTNER_ADMIN.value), referral=referral,
          endpoint="partner.lead_detail", endpoint_args={"lead_id": lead.id},
          subject=f"Reminder: answer the lead for {referral.company_name if referral else 'a customer'}",
          headline=f"Please accept or decline this lead by {lead.respond_by:%Y-%m-%d %H:%M} UTC; "
                   f"after that it goes back to the vendor.")


def lead_returned(lead: Lead) -> None:
    """A declined or expired lead waits for a new reseller: the vendor's managers hear about it."""
    referral = lead.referral
    if referral is None:
        return
    _send("lead_returned", _vendor_users(Role.MANAGER.value), referral=referral, endpoint="internal.referral_detail",
          subject=f"{referral.number} needs a new reseller: {referral.company_name}",
          headline=f"{lead.assigned_org.name} {'declined' if lead.status == 'declined' else 'did not answer'} "
                   f"the lead for {referral.company_name}. Send it to another reseller.")


def deal_to_vendor(event: str, deal: DealRegistration, *, subject: str, headline: str) -> None:
    """Submitted, extension asked: the vendor's managers and the registration's vendor owner."""
    recipients = _vendor_users(Role.MANAGER.value)
    if deal.vendor_owner is not None:
        recipients.append(deal.vendor_owner)
    _send(event, recipients, referral=None, deal=deal, endpoint="internal.deal_detail",
          endpoint_args={"deal_id": deal.id}, subject=subject, headline=headline)


def deal_to_partner(event: str, deal: DealRegistration, *, subject: str, headline: str) -> None:
    """A decision on a registration: its owner, whoever registered it, the partner's admins."""
    recipients = [deal.owner, deal.registered_by] + _org_users(deal.partner_org, Role.PARTNER_ADMIN.value)
    _send(event, recipients, referral=None, deal=deal, endpoint="partner.deal_detail",
          endpoint_args={"deal_id": deal.id}, subject=subject, headline=headline)


def deal_to_distributor(deal: DealRegistration) -> None:
    """A registration names a distributor (and does not hide from it): its key contacts (admins) hear about it."""
    if deal.distributor_org is None or deal.hidden_from_distributor:
        return
    _send("deal_submitted", _org_users(deal.distributor_org, Role.PARTNER_ADMIN.value), referral=None, deal=deal,
          endpoint="partner.deal_detail", endpoint_args={"deal_id": deal.id},
          subject=f"Deal registration {deal.number} through {deal.distributor_org.name}: {deal.customer_company}",
          headline=f"{deal.partner_org.name} registered a deal for {deal.customer_company} that it buys through "
                   f"{deal.distributor_org.name}.")


def deal_owner_assigned(deal: DealRegistration) -> None:
    """A distributor registered the deal on a partner's behalf: the partner user who owns it hears about it."""
    if deal.owner is None:
        return
    _send("deal_owner", [deal.owner], referral=None, deal=deal, endpoint="partner.deal_detail",
          endpoint_args={"deal_id": deal.id},
          subject=f"Deal registration {deal.number} is yours: {deal.customer_company}",
          headline=f"{deal.registered_by.name if deal.registered_by else 'Your distributor'} of "
                   f"{deal.distributor_org.name if deal.distributor_org else 'your distributor'} registered the deal "
                   f"for {deal.customer_company} with you as its owner.")


def referral_deal(referral: Referral, *, subject: str, headline: str) -> None:
    """The referrer follows the deal a reseller made of their referral."""
    recipients = [referral.submitted_by] if referral.submitted_by is not None else []
    recipients += _org_users(referral.partner_org, Role.PARTNER_ADMIN.value)
    _send("referral_deal", recipients, referral=referral, endpoint="partner.referral_detail", subject=subject,
          headline=headline)


def _send(event: str, recipients: list[User], *, referral: Referral | None, endpoint: str, subject: str,
          headline: str, endpoint_args: dict | None = None, deal: DealRegistration | None = None) -> None:
    args = endpoint_args or {"referral_id": referral.id}
    link, path = absolute_url(endpoint, **args), path_for(endpoint, **args)
    seen = set()
    for user in recipients:
        if user is None or user.id in seen or not user.is_active:
            continue
        seen.add(user.id)
        db.session.add(Notification(user_id=user.id, event=event, title=subject[:300], link=path))
        mail.queue(event, to=user, subject=subject, template="deal_event" if deal else "referral_event",
                   headline=headline, referral=referral, deal=deal, link=link)


# Reading recipients does not flush the notifications and mails queued so far: they are inserted
# together by the use case's next flush (one statement per table, not one per event).

def _vendor_users(role: str) -> list[User]:
    with db.session.no_autoflush:
        return list(db.session.scalars(db.select(User).join(User.organization).where(
            Organization.kind == "vendor", User.role == role, User.active.is_(True))))


def _org_users(org: Organization, role: str) -> list[User]:
    with db.session.no_autoflush:
        return list(db.session.scalars(db.select(User).where(User.organization_id == org.id, User.role == role,
                                                             User.active.is_(True))))


def unread_label(user: User) -> str:
    """The navigation's unread count of `user` (loaded with the user by the login manager): "" for
    none, "99+" past what is counted."""
    count = user.unread_notifications or 0
    return f"{UNREAD_COUNTED - 1}+" if count >= UNREAD_COUNTED else str(count or "")


def list_for(user: User, *, page: int = 1, per_page: int = 25):
    query = db.select(Notification).where(Notification.user_id == user.id).order_by(Notification.created_at.desc(),
                                                                                     Notification.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def mark_all_read(user: User) -> None:
    """Mark every notification of `user` read."""
    db.session.execute(db.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
                       .values(read_at=utcnow()))
    db.session.commit()


def crm_connection_failing(connection) -> None:
    """Pushes to a CRM keep failing: the vendor's admins hear it once (not once per record)."""
    since = connection.failing_since.strftime("%Y-%m-%d %H:%M UTC") if connection.failing_since else "a while"
    _send("crm_connection_health", _vendor_users(Role.ADMIN.value), referral=None,
          endpoint="integrations.connection_edit", endpoint_args={"connection_id": connection.id},
          subject=f"CRM connection “{connection.name}” keeps failing",
          headline=f"Records have not reached {connection.name} since {since}: {connection.last_error} "
                   "They stay queued and go as soon as it answers again.")


def crm_connection_recovered(connection) -> None:
    """A CRM connection that kept failing works again: the admins hear it once."""
    _send("crm_connection_health", _vendor_users(Role.ADMIN.value), referral=None,
          endpoint="integrations.connection_edit", endpoint_args={"connection_id": connection.id},
          subject=f"CRM connection “{connection.name}” works again",
          headline=f"{connection.name} answers again; the records that were waiting are being sent.")
