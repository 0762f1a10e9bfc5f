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
