"""A transaction that only read ends with COMMIT, which keeps psycopg's prepared statements; one that
wrote and did not commit still rolls back and leaves nothing behind."""
from __future__ import annotations

import contextlib

from sqlalchemy import event, text

from portal.models import Organization
from tests.factories import ReferralFactory, partner_user


@contextlib.contextmanager
def transaction_ends(engine):
    """How each transaction on `engine` ended, in order, and the DBAPI connections the statements used."""
    ends, connections = [], set()

    def committed(_conn):
        ends.append("commit")

    def rolled_back(_conn):
        ends.append("rollback")

    def executed(_conn, cursor, *_args):
        connections.add(cursor.connection)

    listeners = (("commit", committed), ("rollback", rolled_back), ("after_cursor_execute", executed))
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield ends, connections
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


def test_a_page_that_only_reads_commits_and_its_statements_stay_prepared(app, client, committed_db):
    partner = partner_user("partner_admin")
    ReferralFactory(partner_org=partner.organization, submitted_by=partner, company_name="Initech")
    committed_db.session.commit()
    client.login(partner)

    with transaction_ends(committed_db.engine) as (ends, connections):
        for _ in range(7):  # psycopg prepares a statement on its fifth run on a connection
            page = client.get("/partner/referrals")
            assert page.status_code == 200 and "Initech" in page.get_data(as_text=True)
    assert ends and set(ends) == {"commit"}

    if committed_db.engine.dialect.name == "postgresql":
        # What the change is for: the lists' statements are no longer planned on every request.
        prepared = []
        for connection in connections:  # back in the pool, idle: ask, then leave it idle again
            prepared += [row[0] for row in connection.execute("SELECT statement FROM pg_prepared_statements")]
            connection.commit()
        assert any("FROM user_sessions" in statement for statement in prepared), [(c.prepare_threshold, c._prepared._counts, c._prepared._names) for c in connections]
        assert any("FROM referrals" in statement for statement in prepared), prepared


def test_a_context_that_wrote_without_committing_still_rolls_back_and_a_read_keeps_its_objects(app, committed_db):
    organization = partner_user("partner_admin").organization
    committed_db.session.commit()
    organization_id, name = organization.id, organization.name

    with transaction_ends(committed_db.engine) as (ends, _):
        with app.app_context():  # flushed, never committed
            committed_db.session.get(Organization, organization_id).name = "Flushed"
            committed_db.session.flush()
        with app.app_context():  # changed, not even flushed: a commit would flush it
            committed_db.session.get(Organization, organization_id).name = "Dirty"
        with app.app_context():  # written with a statement of its own
            committed_db.session.execute(text("UPDATE organizations SET name = 'Core' WHERE id = :id"),
                                         {"id": organization_id})
        with app.app_context():  # only read: committed, and what it loaded stays readable afterwards
            read = committed_db.session.get(Organization, organization_id)
    assert ends == ["rollback"] * 3 + ["commit"]
    assert read.name == name

    committed_db.session.rollback()
    assert committed_db.session.get(Organization, organization_id).name == name
