"""The sandbox app factory: HubSpot and Salesforce under /sandbox, with their own database."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, redirect, request
from werkzeug.exceptions import HTTPException

from crm_sandbox import runtime, settings, store
from crm_sandbox.hubspot import blueprint as hubspot
from crm_sandbox.salesforce import blueprint as salesforce


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """A Flask app serving /sandbox/hubspot/... and /sandbox/salesforce/...

    `config` keys win over environment variables, which win over the demo defaults
    (crm_sandbox/settings.py). Other keys (e.g. TESTING) go to `app.config` as they are.
    """
    resolved = settings.resolve(config)
    app = Flask("crm_sandbox", template_folder="ui/templates")
    app.config.update({k: v for k, v in (config or {}).items() if k not in resolved})
    app.config.update(resolved)
    app.json.sort_keys = False
    app.extensions["crm_sandbox"] = runtime.Sandbox(resolved)
    app.register_blueprint(hubspot.make_blueprint(with_admin=resolved["SANDBOX_ADMIN"],
                                                  with_ui=resolved["SANDBOX_UI"]))
    app.register_blueprint(salesforce.make_blueprint(with_admin=resolved["SANDBOX_ADMIN"],
                                                     with_ui=resolved["SANDBOX_UI"]))
    app.after_request(_end_transaction)
    app.teardown_request(lambda _exc: store.finish(commit=False))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    app.add_url_rule("/sandbox/", "index", _index)
    app.wsgi_app = _RestoreSandboxPrefix(app.wsgi_app)
    return app


def _end_transaction(response: Response) -> Response:
    # 207 keeps the inputs that succeeded; any 4xx/5xx answer leaves the store untouched.
    store.finish(commit=response.status_code < 400)
    return response


def _http_error(err: HTTPException):
    if request.path.startswith(hubspot.URL_PREFIX):
        if err.code == 404:
            return hubspot.not_found_response(request.path)
        if err.code == 405:
            return hubspot.method_not_allowed_response(request.path)
    if request.path.startswith(salesforce.URL_PREFIX):
        if err.code == 404:
            return salesforce.not_found_response()
        if err.code == 405:
            return salesforce.method_not_allowed_response(request.method)
    return err


def _unexpected(err: Exception):
    """A bug in the sandbox still answers in the CRM's JSON error shape, never an HTML page."""
    current_app.logger.exception("crm_sandbox: unexpected error on %s %s", request.method, request.path)
    if request.path.startswith(hubspot.URL_PREFIX):
        return hubspot.internal_error_response()
    if request.path.startswith(salesforce.URL_PREFIX):
        return salesforce.internal_error_response()
    return {"error": "internal error"}, 500


def _index():
    return redirect("/sandbox/hubspot/ui/deals")


class _RestoreSandboxPrefix:
    """Serve the same paths whether mounted at the root or under "/sandbox".

    Mounted with DispatcherMiddleware at "/sandbox", werkzeug moves that segment into
    SCRIPT_NAME; our routes include it, so it is moved back. Mounted at the root, nothing changes.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        script = environ.get("SCRIPT_NAME", "")
        if script.rstrip("/").endswith("/sandbox"):
            environ["SCRIPT_NAME"] = script.rstrip("/")[: -len("/sandbox")]
            environ["PATH_INFO"] = "/sandbox" + environ.get("PATH_INFO", "")
        return self.app(environ, start_response)


class InstanceRoot:
    """Serve one sandbox CRM at the root of its own host, as the vendor does.

    A Salesforce instance_url is a bare host (`https://acme.my.salesforce.com`), and some clients
    (simple-salesforce) keep only its host and port. Wrapped, `/services/data/...` reaches
    `/sandbox/salesforce/services/data/...` and the token endpoint answers `instance_url` = the
    host root. Paths already under `/sandbox/` (the record pages' own links) pass unchanged.
    """

    def __init__(self, app, crm: str = "salesforce"):
        self.app, self.crm = app, crm

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/sandbox/"):
            environ["PATH_INFO"] = f"/sandbox/{self.crm}" + path
        environ[runtime.INSTANCE_ROOT] = self.crm
        return self.app(environ, start_response)
