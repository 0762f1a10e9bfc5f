from hypothesis import given, strategies as st
from flask import Flask

from portal.web import layout


def _app():
    app = Flask(__name__)
    app.add_url_rule("/reports/", "reports", lambda: "")
    return app


def test_a_layout_link_follows_the_script_root_it_is_asked_under():
    app = _app()
    with app.test_request_context("/"):
        assert layout.layout_url("reports") == "/reports/"
    with app.test_request_context("/", base_url="http://localhost/portal/"):
        assert layout.layout_url("reports") == "/portal/reports/"
    with app.test_request_context("/"):
        assert layout.layout_url("reports") == "/reports/"


def test_a_layout_link_keeps_its_arguments_apart():
    app = _app()
    with app.test_request_context("/"):
        assert layout.layout_url("static", filename="a.css") == "/static/a.css"
        assert layout.layout_url("static", filename="b.css") == "/static/b.css"


def _rows_app():
    app = Flask(__name__)
    app.add_url_rule("/referrals/<int:referral_id>", "detail", lambda referral_id: "")
    app.add_url_rule("/deals/<int:deal_id>/<action>", "act", lambda deal_id, action: "")
    # The ids in the link in the other order than their names sort in.
    app.add_url_rule("/z/<int:zone_id>/a/<int:area_id>/edit", "nested", lambda zone_id, area_id: "")
    return app


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**12))
def test_a_record_link_is_the_link_url_for_builds(first, second):
    from flask import url_for
    app = _rows_app()
    with app.test_request_context("/", base_url="http://localhost/portal/"):
        assert layout.record_url("detail", referral_id=first) == url_for("detail", referral_id=first)
        assert layout.record_url("act", deal_id=first, action="approve") == f"/portal/deals/{first}/approve"
        assert (layout.record_url("nested", zone_id=first, area_id=second)
                == url_for("nested", zone_id=first, area_id=second) == f"/portal/z/{first}/a/{second}/edit")
        # An id that is not part of the path goes where url_for puts it, in the query string.
        assert layout.record_url("detail", referral_id=first, page=second) == url_for("detail", referral_id=first,
                                                                                      page=second)


def test_a_record_link_keeps_its_fixed_arguments_and_script_root_apart():
    app = _rows_app()
    with app.test_request_context("/"):
        assert layout.record_url("act", deal_id=7, action="approve") == "/deals/7/approve"
        assert layout.record_url("act", deal_id=7, action="pre_approve") == "/deals/7/pre_approve"
    with app.test_request_context("/", base_url="http://localhost/p/"):
        assert layout.record_url("detail", referral_id=3) == "/p/referrals/3"
