"""`flask portal ...`: init, seed-demo, seed-bench, create-user, sweep, run-jobs, sync."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade

from portal import database
from portal.jobs import queues
from portal.errors import DomainError
from portal.extensions import db
from portal.models import CrmConnection, Organization
from portal.services import accounts, statuses, sweep
from portal.cli import demo
from portal.sync import engine

class _WritingGroup(AppGroup):
    """Commands may write beside a running web process: their transactions take SQLite's write lock
    up front (portal/database.py)."""

    def invoke(self, ctx):
        with database.writing():
            return super().invoke(ctx)


group = _WritingGroup("portal", help="Referral Portal administration.")


def register(app: Flask) -> None:
    app.cli.add_command(group)


@group.command("init")
def init_command():
    """Create the database, or upgrade it to the latest migration."""
    upgrade()
    # The migrations store the built-in rows; a database whose rows were removed gets them back.
    statuses.ensure_builtin(trust_cache=False)
    db.session.commit()
    click.echo("Database is up to date.")


@group.command("seed-demo")
def seed_demo_command():
    """Load the demo: vendor Acme Cloud, partners, a distributor and users of every role (once)."""
    if demo.already_seeded():
        click.echo("Demo data is already there.")
        if demo.point_crm_at_sandbox():
            click.echo(f"The demo's HubSpot connection now points at {current_app.config['PUBLIC_BASE_URL']}.")
    else:
        demo.seed()
        click.echo("Demo data loaded.")
    click.echo("\nDemo logins (password for all: %s):" % demo.DEMO_PASSWORD)
    for email, role, org in demo.logins():
        click.echo(f"  {email:<32} {role:<14} {org}")


@group.command("seed-bench")
@click.option("--partners", default=50, show_default=True, help="Partner organizations to create.")
@click.option("--referrals", default=0, show_default=True, help="Referrals to create across them.")
@click.option("--heavy-partner-referrals", default=0, show_default=True,
              help="How many of the referrals go to the first bench partner (its admin's email is printed).")
@click.option("--deals", default=0, show_default=True, help="Deal registrations to create across the partners.")
@click.option("--heavy-partner-deals", default=0, show_default=True,
              help="How many of the registrations go to the first bench partner.")
def seed_bench_command(partners: int, referrals: int, heavy_partner_referrals: int, deals: int,
                       heavy_partner_deals: int):
    """Bulk-insert data for the benchmarks (fast: no mail, no events)."""
    if heavy_partner_referrals > referrals:
        raise click.BadParameter("cannot be more than --referrals", param_hint="--heavy-partner-referrals")
    if heavy_partner_deals > deals:
        raise click.BadParameter("cannot be more than --deals", param_hint="--heavy-partner-deals")
    counts = demo.seed_bench(partners=partners, referrals=referrals, heavy_partner_referrals=heavy_partner_referrals,
                             deals=deals, heavy_partner_deals=heavy_partner_deals)
    for name, value in counts.items():
        click.echo(f"{name}: {value}")


@group.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "manager", "sales", "partner_admin", "partner_user"]))
@click.option("--organization", "organization_name", help="Organization name (default: the vendor).")
@click.password_option()
def create_user_command(email, name, role, organization_name, password):
    """Create a user with a password."""
    if organization_name:
        org = db.session.scalar(db.select(Organization).where(Organization.name == organization_name))
        if org is None:
            raise click.ClickException(f"No organization named {organization_name!r}.")
    else:
        org = demo.ensure_vendor()
    try:
        user = accounts.create_user(organization=org, email=email, name=name, role=role, password=password)
    except DomainError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"Created {user.email} ({user.role}) in {org.name}.")


@group.command("sweep")
def sweep_command():
    """Re-enqueue pending work now (what the periodic sweep does every minute)."""
    click.echo(sweep.run())


@group.command("run-jobs")
def run_jobs_command():
    """Process every queued job now in this process, then exit."""
    ran = queues.run_burst(current_app._get_current_object())
    click.echo("Jobs processed." if ran else "No jobs were waiting.")


@group.command("sync")
@click.argument("what", type=click.Choice(["push", "pull", "full"]))
@click.option("--connection", "connection_id", type=int, help="Connection id (default: every active one).")
def sync_command(what: str, connection_id: int | None):
    """Run a CRM push, pull or full sync now, in this process (what the sync jobs do)."""
    ids = [connection_id] if connection_id else list(db.session.scalars(
        db.select(CrmConnection.id).where(CrmConnection.active.is_(True))))
    run = {"push": engine.push, "pull": engine.pull, "full": engine.full_sync}[what]
    for cid in ids:
        click.echo(f"connection {cid}: {run(cid)}")
