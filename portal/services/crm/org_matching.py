"""The organization matching wizard (issue #14): before the first organization sync, an admin tells
which Salesforce Account each partner and distributor organization is.

Step 1 confirms the sync flag and status are set on the matching Accounts: only then does a run
exist, so nothing is saved without it. Step 2 picks the master of the initial sync and fetches the
flagged Accounts once (kept per run, so paging never asks the CRM again). Step 3 decides per
organization — Link the suggestion, select another Account, create a new one, do not sync — each
decision saved at once (a `CrmLink` for the sync, a row for the wizard), so a run left halfway
resumes. Step 4 counts the decisions and starts the initial sync.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from sqlalchemy import func

from portal import database, domains
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import CrmConnection, CrmLink, Organization, OrgKind, SyncLog, User
from portal.models.crm import LinkState
from portal.models.org_matching import Decision, Master, OrgMatchAccount, OrgMatchRow, OrgMatchRun
from portal.models.types import utcnow
from portal.services.crm import org_suggestions as suggestions
from portal.sync import connectors
from portal.sync.http import CrmError

ENTITY = "organization"
CRM_OBJECT = "account"
ORG_KINDS = (OrgKind.PARTNER.value, OrgKind.DISTRIBUTOR.value)
MASTERS = {Master.PORTAL.value: "The portal", Master.CRM.value: "Salesforce"}
FILTERS = ("all", "undecided", "decided")
# The mapping objects of the organization sync (an organization is an Account, a user a Contact).
ORG_OBJECTS = ("account", "partner_contact")
PER_PAGE = 20


@dataclass
class Counts:
    link: int = 0
    create: int = 0
    skip: int = 0
    undecided: int = 0

    @property
    def total(self) -> int:
        return self.link + self.create + self.skip + self.undecided


# ---- reading ------------------------------------------------------------------------------------

def supports(connection: CrmConnection) -> bool:
    """Does this connection's CRM offer Accounts to match organizations with?"""
    return bool(getattr(connectors.CONNECTORS.get(connection.provider), "matches_organizations", False))


def current_run(connection: CrmConnection) -> OrgMatchRun | None:
    """The run still being walked (its initial sync not started yet), if any."""
    return db.session.scalar(db.select(OrgMatchRun).where(OrgMatchRun.connection_id == connection.id,
                                                            OrgMatchRun.sync_started_at.is_(None))
                             .order_by(OrgMatchRun.id.desc()).limit(1))


def latest_run(connection: CrmConnection) -> OrgMatchRun | None:
    return db.session.scalar(db.select(OrgMatchRun).where(OrgMatchRun.connection_id == connection.id)
                             .order_by(OrgMatchRun.id.desc()).limit(1))


def master_of(connection: CrmConnection, run: OrgMatchRun) -> str:
    """The master to offer: the run's choice, else the organization sync's setting, else the portal."""
    return run.master or (connection.options or {}).get("org_master") or Master.PORTAL.value


def step_of(run: OrgMatchRun | None) -> str:
    """Where a person resumes: confirm, master, match, sync."""
    if run is None:
        return "confirm"
    if run.sync_started_at is not None:
        return "sync"
    return "match" if run.master else "master"


def rows_page(run: OrgMatchRun, *, page: int = 1, show: str = "all", per_page: int = PER_PAGE):
    """One page of the run's organizations (by name) with their suggestions and decisions."""
    _ensure_rows(run)
    query = (db.select(OrgMatchRow).join(Organization, Organization.id == OrgMatchRow.organization_id)
             .where(OrgMatchRow.run_id == run.id).order_by(func.lower(Organization.name), Organization.id))
    if show == "undecided":
        query = query.where(OrgMatchRow.decision.is_(None))
    elif show == "decided":
        query = query.where(OrgMatchRow.decision.is_not(None))
    return db.paginate(query, page=max(1, page), per_page=per_page, error_out=False)


def row_for(run: OrgMatchRun, organization_id: int) -> OrgMatchRow:
    _ensure_rows(run)
    row = db.session.scalar(db.select(OrgMatchRow).where(OrgMatchRow.run_id == run.id,
                                                          OrgMatchRow.organization_id == organization_id))
    if row is None:
        raise NotFound()
    return row


def accounts_of(run: OrgMatchRun, crm_ids) -> dict[str, OrgMatchAccount]:
    """The cached Accounts of `run` by CRM id."""
    wanted = {i for i in crm_ids if i}
    if not wanted:
        return {}
    return {a.crm_id: a for a in db.session.scalars(db.select(OrgMatchAccount).where(
        OrgMatchAccount.run_id == run.id, OrgMatchAccount.crm_id.in_(wanted)))}


def account_count(run: OrgMatchRun) -> int:
    return db.session.scalar(db.select(func.count()).select_from(OrgMatchAccount)
                             .where(OrgMatchAccount.run_id == run.id)) or 0


def email_domains(organization_ids) -> dict[int, list[str]]:
    """The company email domains of each organization's users (free-mail addresses say nothing)."""
    found: dict[int, list[str]] = {}
    ids = list(organization_ids)
    if not ids:
        return found
    for org_id, email in db.session.execute(db.select(User.organization_id, User.email)
                                            .where(User.organization_id.in_(ids)).order_by(User.id)):
        domain = domains.of_email(email)
        if domain and domain not in found.setdefault(org_id, []):
            found[org_id].append(domain)
    return found


def counts(run: OrgMatchRun) -> Counts:
    _ensure_rows(run)
    result = Counts()
    for decision, number in db.session.execute(db.select(OrgMatchRow.decision, func.count())
                                               .where(OrgMatchRow.run_id == run.id).group_by(OrgMatchRow.decision)):
        if decision in (Decision.LINK.value, Decision.SELECT.value):
            result.link += number
        elif decision == Decision.CREATE.value:
            result.create += number
        elif decision == Decision.SKIP.value:
            result.skip += number
        else:
            result.undecided += number
    return result


@dataclass
class SyncError:
    action: str
    subject: str | None     # the organization's name, the user's email
    message: str


def sync_errors(connection: CrmConnection, run: OrgMatchRun | None, *, limit: int = 50) -> list[SyncError]:
    """The errors the integration log recorded for this connection since the run's sync started."""
    if run is None or run.sync_started_at is None:
        return []
    entries = list(db.session.scalars(db.select(SyncLog).where(
        SyncLog.connection_id == connection.id, SyncLog.status == "error", SyncLog.at >= run.sync_started_at)
        .order_by(SyncLog.at.desc(), SyncLog.id.desc()).limit(limit)))
    names = {(ENTITY, i): n for i, n in db.session.execute(db.select(Organization.id, Organization.name).where(
        Organization.id.in_({e.entity_id for e in entries if e.entity_type == ENTITY})))}
    names.update({("user", i): e for i, e in db.session.execute(db.select(User.id, User.email).where(
        User.id.in_({e.entity_id for e in entries if e.entity_type == "user"})))})
    return [SyncError(e.action, names.get((e.entity_type, e.entity_id)), e.message or "") for e in entries]


def offer_after_mappings(connection: CrmConnection, saved_objects) -> bool:
    """Should saving the field mappings lead to the wizard? The first time mappings of the objects
    organizations and users become (Accounts, Contacts) are saved on a connection that was never
    matched; remembered on the connection, so later saves stay on the mappings page."""
    if not supports(connection) or not set(saved_objects) & set(ORG_OBJECTS):
        return False
    options = dict(connection.options or {})
    if options.get("org_matching_offered_at") or latest_run(connection) is not None:
        return False
    options["org_matching_offered_at"] = utcnow().isoformat()
    connection.options = options
    db.session.commit()
    return True


# ---- the steps ----------------------------------------------------------------------------------

def start(connection: CrmConnection, *, by: User, confirmed: bool) -> OrgMatchRun:
    """Step 1: the admin confirms the sync flag and status are set on the matching Accounts. Resumes
    the run under way, if any. Raises DomainError (nothing saved) without the confirmation."""
    if not supports(connection):
        raise DomainError(f"{connectors.get(connection.provider).label} has no Accounts to match "
                          "organizations with.")
    if not confirmed:
        raise DomainError("Confirm that the “Sync with Portal” flag and the partner status are set on the "
                          "matching Accounts first.", field="confirmed")
    run = current_run(connection)
    if run is None:
        run = OrgMatchRun(connection_id=connection.id, started_by_id=by.id, confirmed_at=utcnow())
        db.session.add(run)
        db.session.commit()
    return run


def choose_master(run: OrgMatchRun, *, master: str) -> OrgMatchRun:
    """Step 2: whose values win in the initial sync; fetches the flagged Accounts on the first choice.
    Raises DomainError for an unknown master. A CRM that cannot be reached is kept on the run
    (`fetch_error`): the list says so and offers to fetch again."""
    _open(run)
    if master not in MASTERS:
        raise DomainError("Choose the portal or Salesforce.", field="master")
    run.master = master
    if run.accounts_fetched_at is None:
        _fetch(run)
    db.session.commit()
    return run


def refresh_accounts(run: OrgMatchRun) -> OrgMatchRun:
    """Fetch the flagged Accounts again (someone flagged more) and suggest again where undecided."""
    _open(run)
    _fetch(run)
    db.session.commit()
    return run


def search(run: OrgMatchRun, text: str, *, limit: int = 10) -> list[OrgMatchAccount]:
    """"Please select": flagged Accounts whose name contains `text`, asked of the CRM as the admin
    types; what it answers joins the run's Accounts, so it can be chosen. Raises DomainError when
    the CRM cannot be reached."""
    _open(run)
    text = (text or "").strip()
    if len(text) < 2:
        return []
    connection = db.session.get(CrmConnection, run.connection_id)
    try:
        found = connectors.for_connection(connection).search_candidates(text, limit=limit)
    except CrmError as err:
        raise DomainError(f"Salesforce could not be searched: {err.message}") from err
    cached = accounts_of(run, [c.crm_id for c in found])
    if any(c.crm_id not in cached for c in found):
        database.take_write_lock()  # a GET that writes (portal/database.py)
        cached = accounts_of(run, [c.crm_id for c in found])
        for candidate in found:
            if candidate.crm_id not in cached:
                cached[candidate.crm_id] = _account_row(run, candidate)
                db.session.add(cached[candidate.crm_id])
        db.session.commit()
    return [cached[c.crm_id] for c in found]


def decide(run: OrgMatchRun, organization_id: int, *, decision: str, by: User,
           crm_id: str | None = None) -> OrgMatchRow:
    """Step 3, one organization: Link (the suggestion), select (an Account found by name), create a
    new Account, or do not sync. Saved at once, as the organization's CrmLink too. Raises NotFound
    for an organization outside the run, DomainError for an Account that is not offered or is
    already another organization's."""
    _open(run)
    if run.master is None:
        raise DomainError("Choose the master of the initial sync first.")
    row = row_for(run, organization_id)
    if decision == Decision.LINK.value:
        crm_id = row.suggested_crm_id
        if not crm_id:
            raise DomainError("There is no suggestion to link: select an Account or create one.")
    elif decision == Decision.SELECT.value:
        crm_id = (crm_id or "").strip()
        if not crm_id:
            raise DomainError("Choose one of the Accounts found.", field="crm_id")
    elif decision == Decision.CREATE.value:
        crm_id = None
    elif decision == Decision.SKIP.value:
        # The suggested Account goes with a "Do not sync" link, so the pull leaves it alone too
        # (instead of making a second organization of it), unless another organization has it.
        crm_id = row.suggested_crm_id if row.suggested_crm_id and not _holder(run, row, row.suggested_crm_id) else None
    else:
        raise DomainError("Choose Link, select an Account, Create New Account or Do Not Sync.", field="decision")
    account = accounts_of(run, [crm_id]).get(crm_id) if crm_id else None
    if crm_id and account is None:
        raise DomainError("That Account is not one of the Accounts flagged for sync.", field="crm_id")
    if crm_id and decision != Decision.SKIP.value:
        _refuse_taken(run, row, crm_id, account.name)
    row.decision = decision
    row.crm_id = crm_id if decision != Decision.SKIP.value else None
    row.account_name = account.name if account and decision != Decision.SKIP.value else None
    row.decided_by_id, row.decided_at = by.id, utcnow()
    _record_link(run, organization_id, decision, crm_id)
    db.session.commit()
    return row


def finish(run: OrgMatchRun, *, by: User) -> OrgMatchRun:
    """Step 4: turn the organization sync on with the chosen master and start the initial sync (the
    organization sync's `start_initial_sync` enqueues it). Raises DomainError before any change when
    the master is not chosen or the sync is not available."""
    _open(run)
    if run.master is None:
        raise DomainError("Choose the master of the initial sync first.")
    start_initial_sync = _initial_sync()
    connection = db.session.get(CrmConnection, run.connection_id)
    options = dict(connection.options or {})
    options["org_sync"] = {**(options.get("org_sync") or {}), "enabled": True, "master": run.master}
    connection.options = options
    run.sync_started_at = utcnow()
    try:
        # It commits this transaction too, the sync's job enqueued after it: one change or none.
        start_initial_sync(connection.id, run.master)
    except DomainError:
        db.session.rollback()
        raise
    return run


# ---- private ------------------------------------------------------------------------------------

def _open(run: OrgMatchRun) -> None:
    if run.sync_started_at is not None:
        raise DomainError("This matching is finished: its initial sync has started. Start the wizard again "
                          "to match once more.")


def _initial_sync():
    """The organization sync's entry point, looked up when needed: the wizard only hands over to it."""
    try:
        module = importlib.import_module("portal.services.crm.org_sync")
        return module.start_initial_sync
    except (ImportError, AttributeError) as err:
        raise DomainError("The organization sync is not available in this version of the portal.") from err


def _fetch(run: OrgMatchRun) -> None:
    """Replace the run's Accounts with the CRM's flagged ones and suggest again for undecided rows."""
    connection = db.session.get(CrmConnection, run.connection_id)
    try:
        found = connectors.for_connection(connection).matching_candidates()
    except CrmError as err:
        run.fetch_error = f"Salesforce's Accounts could not be read: {err.message}"
        return
    db.session.execute(db.delete(OrgMatchAccount).where(OrgMatchAccount.run_id == run.id))
    accounts = [_account_row(run, c) for c in found]
    db.session.add_all(accounts)
    run.accounts_fetched_at, run.fetch_error = utcnow(), None
    db.session.flush()
    rows = {r.organization_id: r for r in db.session.scalars(db.select(OrgMatchRow).where(OrgMatchRow.run_id == run.id))}
    _suggest(run, accounts, rows, organization_ids=None)


def _account_row(run: OrgMatchRun, candidate) -> OrgMatchAccount:
    return OrgMatchAccount(run_id=run.id, crm_id=candidate.crm_id, name=candidate.name[:255],
                           website=(candidate.website or "")[:255] or None, status=candidate.status,
                           domains=" ".join(candidate.domains), normalized_name=suggestions.normalise(candidate.name)[:255])


def _ensure_rows(run: OrgMatchRun) -> None:
    """A row for every partner and distributor organization (ones created since the run started too);
    a finished run keeps the rows it had."""
    if run.accounts_fetched_at is None or run.sync_started_at is not None:
        return
    missing = _missing_rows(run)
    if not missing:
        return
    database.take_write_lock()  # the list is a GET that writes (portal/database.py)
    missing = _missing_rows(run)
    accounts = list(db.session.scalars(db.select(OrgMatchAccount).where(OrgMatchAccount.run_id == run.id)))
    _suggest(run, accounts, {}, organization_ids=missing)
    db.session.commit()


def _missing_rows(run: OrgMatchRun) -> list[int]:
    return list(db.session.scalars(db.select(Organization.id).where(
        Organization.kind.in_(ORG_KINDS),
        ~db.select(OrgMatchRow.id).where(OrgMatchRow.run_id == run.id,
                                         OrgMatchRow.organization_id == Organization.id).exists())))


def _suggest(run: OrgMatchRun, accounts: list[OrgMatchAccount], rows: dict[int, OrgMatchRow], *,
             organization_ids: list[int] | None) -> None:
    """Score the organizations against the Accounts; new rows take their decision from an existing
    link (a wizard run again shows what was decided before)."""
    index = suggestions.Index(suggestions.Account(a.crm_id, a.name, domains.normalize(a.website), tuple(a.domain_list))
                              for a in accounts)
    query = db.select(Organization).where(Organization.kind.in_(ORG_KINDS))
    if organization_ids is not None:
        query = query.where(Organization.id.in_(organization_ids))
    orgs = list(db.session.scalars(query))
    mails = email_domains(o.id for o in orgs)
    links = {link.entity_id: link for link in db.session.scalars(db.select(CrmLink).where(
        CrmLink.connection_id == run.connection_id, CrmLink.entity_type == ENTITY))}
    names = {a.crm_id: a.name for a in accounts}
    for org in orgs:
        best = index.suggest(suggestions.Organization(org.id, org.name, domains.normalize(org.domain),
                                                      tuple(mails.get(org.id, ()))))
        row = rows.get(org.id)
        if row is None:
            row = OrgMatchRow(run_id=run.id, organization_id=org.id)
            db.session.add(row)
        # A decision stands when the Accounts are fetched again; only the suggestion is refreshed.
        row.suggested_crm_id = best.crm_id if best else None
        row.score = best.score if best else 0
        row.reason = best.reason[:500] if best else None
        if row.decision is None:
            _take_link(row, links.get(org.id), names)
    db.session.flush()


def _take_link(row: OrgMatchRow, link: CrmLink | None, names: dict[str, str]) -> None:
    if link is None:
        return
    if link.state == LinkState.UNLINKED.value:
        row.decision = Decision.SKIP.value
    elif link.crm_id:
        row.decision = Decision.LINK.value if link.crm_id == row.suggested_crm_id else Decision.SELECT.value
        row.crm_id, row.account_name = link.crm_id, names.get(link.crm_id)
    else:
        row.decision = Decision.CREATE.value


def _holder(run: OrgMatchRun, row: OrgMatchRow, crm_id: str) -> CrmLink | None:
    """Another organization's link to the Account `crm_id`, if one has it."""
    return db.session.scalar(db.select(CrmLink).where(
        CrmLink.connection_id == run.connection_id, CrmLink.entity_type == ENTITY, CrmLink.crm_id == crm_id,
        CrmLink.entity_id != row.organization_id).limit(1))


def _refuse_taken(run: OrgMatchRun, row: OrgMatchRow, crm_id: str, name: str) -> None:
    """One Account is one organization: linking it twice would merge two partners in Salesforce. An
    Account only set aside with another organization's "Do not sync" is released to this one."""
    other = _holder(run, row, crm_id)
    if other is None:
        return
    if other.state == LinkState.UNLINKED.value:
        other.crm_id = None
        return
    org = db.session.get(Organization, other.entity_id)
    raise DomainError(f"The Account “{name}” is already linked to {org.name if org else 'another organization'}.",
                      field="crm_id")


def _link(connection_id: int, organization_id: int) -> CrmLink | None:
    return db.session.scalar(db.select(CrmLink).where(CrmLink.connection_id == connection_id,
                                                      CrmLink.entity_type == ENTITY,
                                                      CrmLink.entity_id == organization_id))


def _record_link(run: OrgMatchRun, organization_id: int, decision: str, crm_id: str | None) -> None:
    """The decision as the sync reads it: an Account id (link), none (create), or unlinked (skip)."""
    link = _link(run.connection_id, organization_id)
    if link is None:
        link = CrmLink(connection_id=run.connection_id, entity_type=ENTITY, entity_id=organization_id,
                       crm_object=CRM_OBJECT, version=1)
        db.session.add(link)
    link.crm_id = crm_id
    link.state = LinkState.UNLINKED.value if decision == Decision.SKIP.value else LinkState.PENDING.value
    link.dirty = decision != Decision.SKIP.value
    link.version = (link.version or 0) + 1
    link.last_error = None
