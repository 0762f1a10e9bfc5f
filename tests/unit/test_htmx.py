"""The page-or-fragment decision lives in one place."""
from __future__ import annotations

import pytest
from flask import Flask

from portal.web import htmx


@pytest.fixture
def flask_app(tmp_path):
    app = Flask(__name__, template_folder=str(tmp_path))
    (tmp_path / "page.html").write_text("PAGE")
    (tmp_path / "part.html").write_text("PART")
    return app


@pytest.mark.parametrize("headers, expected", [
    ({}, "PAGE"),
    ({"HX-Request": "true"}, "PART"),
    ({"HX-Request": "true", "HX-Boosted": "true"}, "PAGE"),
    ({"HX-Request": "true", "HX-History-Restore-Request": "true"}, "PAGE"),
])
def test_render_page_answers_fragment_only_to_plain_htmx_requests(flask_app, headers, expected):
    with flask_app.test_request_context(headers=headers):
        response = htmx.render_page("page.html", "part.html")
        assert response.get_data(as_text=True) == expected
        assert response.headers["Vary"] == "HX-Request"


def test_redirect_is_hx_location_for_htmx_and_303_otherwise(flask_app):
    with flask_app.test_request_context(headers={"HX-Request": "true"}):
        response = htmx.redirect("/next")
        assert response.status_code == 200 and response.headers["HX-Location"] == "/next"
    with flask_app.test_request_context():
        response = htmx.redirect("/next")
        assert response.status_code == 303 and response.headers["Location"] == "/next"
