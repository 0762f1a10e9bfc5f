"""Salesforce's REST API as the connector uses it: OAuth 2.0 (refresh-token and JWT bearer flows) at
the login host, then every call under the `instance_url` the token answer names (FACTS §2.2).

The connection stores its credentials as one encrypted JSON text (`credentials_text`): the login
URL is the connection's base URL; the access token is asked for on the first call and asked for
again, once, when a call answers 401 `INVALID_SESSION_ID` (sessions expire). Every call goes through
`sync.http.Client`, so retries and the shared budget are the same as HubSpot's.
"""
from __future__ import annotations

import json
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator

import jwt
import requests

from portal.errors import DomainError
from portal.sync.http import Client, CrmError, RateLimitPolicy

API_VERSION = "62.0"
COLLECTION_SIZE = 200        # sObject Collections take at most 200 records (EXCEEDED_ID_LIMIT)
IN_VALUES = 200              # values per IN (...) we put in one SOQL condition
REFERRAL_ID_FIELD = "Portal_Referral_Id__c"
SYNC_FIELD = "Sync_with_Portal__c"
LOGIN_ATTEMPTS = 3
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Sent where the portal means to create: a matching record was already looked for (the duplicate policy).
DUPLICATE_HEADER = {"Sforce-Duplicate-Rule-Header": "allowSave=true"}


def credentials_text(*, client_id: str, client_secret: str = "", refresh_token: str = "", username: str = "",
                     private_key: str = "") -> str:
    """The connection's credentials as stored (encrypted): a refresh-token flow when a refresh token
    is given, else the JWT bearer flow. Raises DomainError naming what is missing."""
    client_id = (client_id or "").strip()
    if not client_id:
        raise DomainError("Enter the connected app's consumer key (client id).", field="client_id")
    if (refresh_token or "").strip():
        if not (client_secret or "").strip():
            raise DomainError("Enter the connected app's consumer secret.", field="client_secret")
        return json.dumps({"flow": "refresh_token", "client_id": client_id, "client_secret": client_secret.strip(),
                           "refresh_token": refresh_token.strip()})
    if (username or "").strip() and (private_key or "").strip():
        if "PRIVATE KEY" not in private_key:
            raise DomainError("The private key must be a PEM text (-----BEGIN PRIVATE KEY-----...).",
                              field="private_key")
        return json.dumps({"flow": "jwt", "client_id": client_id, "username": username.strip(),
                           "private_key": private_key.strip()})
    raise DomainError("Enter a refresh token (with the consumer secret), or a username and a private key "
                      "for the JWT bearer flow.", field="refresh_token")


def parse_credentials(text: str) -> dict:
    try:
        found = json.loads(text)
    except ValueError as err:
        raise DomainError("The stored Salesforce credentials are not readable; enter them again.",
                          field="token") from err
    if not isinstance(found, dict) or found.get("flow") not in ("refresh_token", "jwt"):
        raise DomainError("The stored Salesforce credentials are incomplete; enter them again.", field="token")
    return found


@dataclass
class Session:
    access_token: str
    instance_url: str


def login(login_url: str, creds: dict, *, timeout: float = 30.0) -> Session:
    """One token request (form-encoded, FACTS §2.2); OAuth errors become non-retryable CrmErrors."""
    url = login_url.rstrip("/") + "/services/oauth2/token"
    if creds["flow"] == "refresh_token":
        form = {"grant_type": "refresh_token", "client_id": creds["client_id"],
                "client_secret": creds["client_secret"], "refresh_token": creds["refresh_token"]}
    else:
        now = int(time.time())
        audience = creds.get("audience") or login_url.rstrip("/")
        assertion = jwt.encode({"iss": creds["client_id"], "sub": creds["username"], "aud": audience,
                                "exp": now + 180}, creds["private_key"], algorithm="RS256")
        form = {"grant_type": JWT_GRANT, "assertion": assertion}
    try:
        answer = requests.post(url, data=form, timeout=(5.0, timeout))
    except requests.RequestException as err:
        raise CrmError(None, f"The Salesforce login host could not be reached ({type(err).__name__}).",
                       retryable=True) from err
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code >= 500:
        raise CrmError(answer.status_code, "Salesforce's login host failed; try again later.", retryable=True)
    if isinstance(body, list):  # a REST error list in front of the login (the org's limits), not an OAuth error
        failure = CrmError(answer.status_code, "Salesforce refused the login", retryable=False, body={"errors": body})
        failure.message = error_text(failure)
        failure.retryable = error_code(failure) == "REQUEST_LIMIT_EXCEEDED"
        raise failure
    if answer.status_code != 200 or not body.get("access_token"):
        description = body.get("error_description") or body.get("error") or f"HTTP {answer.status_code}"
        raise CrmError(answer.status_code, f"Salesforce refused the credentials: {description}", retryable=False,
                       body=body if isinstance(body, dict) else {})
    return Session(body["access_token"], body.get("instance_url") or login_url)


class Limits(RateLimitPolicy):
    """Salesforce limits requests per day, not per second: every answer's `Sforce-Limit-Info:
    api-usage=n/max` says how many are left (kept for "Test connection")."""

    def __init__(self):
        self.used: int | None = None
        self.maximum: int | None = None

    def learn(self, response):
        info = response.headers.get("Sforce-Limit-Info", "")
        for part in info.split(","):
            name, _, value = part.strip().partition("=")
            if name == "api-usage" and "/" in value:
                used, maximum = value.split("/", 1)
                if used.isdigit() and maximum.isdigit():
                    self.used, self.maximum = int(used), int(maximum)
        return None

    @property
    def remaining(self) -> int | None:
        return None if self.maximum is None else self.maximum - self.used


def error_code(err: CrmError) -> str:
    """The first `errorCode` of Salesforce's error list (the HTTP client keeps a list as body["errors"])."""
    for item in err.body.get("errors") or []:
        if isinstance(item, dict) and item.get("errorCode"):
            return item["errorCode"]
    return ""


def error_text(err: CrmError) -> str:
    messages = [f"{i.get('errorCode', '')}: {i.get('message', '')}" for i in err.body.get("errors") or []
                if isinstance(i, dict)]
    return "; ".join(messages) or err.message


class Answers(dict):
    """Query name -> its records; `extra`: the other subrequests' bodies by name."""

    def __init__(self):
        super().__init__()
        self.extra: dict[str, dict] = {}


@dataclass
class Salesforce:
    login_url: str
    creds: dict
    client_kwargs: dict = field(default_factory=dict)
    version: str = API_VERSION
    limits: Limits = field(default_factory=Limits)
    _client: Client | None = None
    _calls_before: int = 0

    @property
    def calls(self) -> int:
        return self._calls_before + (self._client.calls if self._client else 0)

    @property
    def instance_url(self) -> str:
        return self.client().base_url.rsplit("/services/data/", 1)[0]

    def client(self, *, fresh: bool = False) -> Client:
        if self._client is None or fresh:
            if self._client is not None:
                self._calls_before += self._client.calls
            session = self._login()
            self._client = Client(session.instance_url.rstrip("/") + f"/services/data/v{self.version}",
                                  session.access_token, policy=self.limits, **self.client_kwargs)
        return self._client

    def _login(self) -> Session:
        """The token request, tried again after a short wait when the login host fails (5xx, network)."""
        attempt = 0
        while True:
            try:
                return login(self.login_url, self.creds)
            except CrmError as err:
                attempt += 1
                if not err.retryable or attempt >= LOGIN_ATTEMPTS:
                    raise
                time.sleep(min(4.0, 0.5 * 2 ** attempt))

    def request(self, method: str, path: str, *, json=None, params=None, headers: dict | None = None):
        """One call; a 401 `INVALID_SESSION_ID` logs in again and tries once more."""
        for attempt in (0, 1):
            client = self.client(fresh=attempt == 1)
            saved = {k: client.session.headers.get(k) for k in headers or {}}
            client.session.headers.update(headers or {})
            try:
                return client.request(method, path, json=json, params=params)
            except CrmError as err:
                if attempt == 0 and err.status == 401 and error_code(err) in ("INVALID_SESSION_ID", ""):
                    continue
                if error_code(err) == "REQUEST_LIMIT_EXCEEDED":
                    # The org's allocation (or its long-call concurrency) is used up: nothing was
                    # written, and the same call succeeds later (FACTS §2.10), so the job retries.
                    err.retryable = True
                raise
            finally:
                for name, value in saved.items():
                    if value is None:
                        client.session.headers.pop(name, None)
                    else:
                        client.session.headers[name] = value

    # ---- reads ------------------------------------------------------------------------------

    def query(self, soql: str) -> Iterator[dict]:
        """Every record of one SOQL query, page after page (nextRecordsUrl)."""
        answer = self.request("GET", "/query", params={"q": soql})
        while True:
            yield from answer.get("records", [])
            following = answer.get("nextRecordsUrl")
            if not following or answer.get("done", True):
                return
            answer = self.request("GET", "/query/" + following.rstrip("/").rsplit("/", 1)[-1])

    def describe(self, sobject: str) -> dict:
        return self.request("GET", f"/sobjects/{sobject}/describe")

    def deleted(self, sobject: str, start: str, end: str) -> list[dict]:
        answer = self.request("GET", f"/sobjects/{sobject}/deleted/", params={"start": start, "end": end})
        return answer.get("deletedRecords", [])

    # ---- writes (sObject Collections, ≤ 200 records a call) -----------------------------------

    def upsert(self, sobject: str, external_id: str, records: list[dict]) -> list[dict]:
        """Create or update by external id (v46.0+): a retry never makes a second record."""
        body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **r} for r in records]}
        return self.request("PATCH", f"/composite/sobjects/{sobject}/{external_id}", json=body,
                            headers=DUPLICATE_HEADER) or []

    # ---- Composite: several requests in one API call (FACTS §2.5) ----------------------------

    def data_path(self, path: str) -> str:
        """A subrequest's URL: the API's own path with its version."""
        return f"/services/data/v{self.version}{path}"

    def composite(self, subrequests: list[dict]) -> dict[str, tuple[int, object]]:
        """One `/composite` call (≤ 25 subrequests, ≤ 5 of them collections or queries, counted as
        one API call), `allOrNone` false: referenceId -> (status, body) of each subrequest."""
        answer = self.request("POST", "/composite", json={"allOrNone": False, "compositeRequest": subrequests})
        return {a["referenceId"]: (a.get("httpStatusCode", 500), a.get("body"))
                for a in (answer or {}).get("compositeResponse", [])}

    def queries(self, soql: dict[str, str], *, extra: dict[str, str] | None = None) -> Answers:
        """Several SOQL queries (≤ 5) and other GETs (`extra`: name -> a subrequest URL) in one
        Composite call; a query with more rows than one page holds is followed page by page.
        Raises CrmError for a subrequest Salesforce refused."""
        subrequests = [{"method": "GET", "referenceId": name, "url": self.data_path("/query?q=" + quote_url(text))}
                       for name, text in soql.items()]
        subrequests += [{"method": "GET", "referenceId": name, "url": url} for name, url in (extra or {}).items()]
        found = Answers()
        for name, (status, body) in self.composite(subrequests).items():
            if status >= 400:
                raise subrequest_error(status, body)
            if name not in soql:
                found.extra[name] = body
                continue
            found[name] = list(body.get("records", []))
            following = body.get("nextRecordsUrl")
            while following and not body.get("done", True):
                body = self.request("GET", "/query/" + following.rstrip("/").rsplit("/", 1)[-1])
                found[name].extend(body.get("records", []))
                following = body.get("nextRecordsUrl")
        return found

    def upsert_request(self, sobject: str, external_id: str, records: list[dict], reference: str) -> dict:
        """A Collections upsert as a Composite subrequest (saved past duplicate rules: the match was
        looked for already)."""
        return {"method": "PATCH", "referenceId": reference, "httpHeaders": dict(DUPLICATE_HEADER),
                "url": self.data_path(f"/composite/sobjects/{sobject}/{external_id}"),
                "body": {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **r} for r in records]}}

    def update_request(self, records: list[tuple[str, dict]], reference: str) -> dict:
        """A Collections update by Id (records of several types together) as a Composite subrequest."""
        return {"method": "PATCH", "referenceId": reference, "url": self.data_path("/composite/sobjects"),
                "body": {"allOrNone": False,
                         "records": [{"attributes": {"type": sobject}, **r} for sobject, r in records]}}

    def update(self, sobject: str, records: list[dict]) -> list[dict]:
        """Update by Id; results in order."""
        body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **r} for r in records]}
        return self.request("PATCH", "/composite/sobjects", json=body) or []


def subrequest_error(status: int, body) -> CrmError:
    """A failed Composite subrequest as the CrmError the same direct call would have raised."""
    errors = body if isinstance(body, list) else []
    message = "; ".join(f"{e.get('errorCode', '')}: {e.get('message', '')}" for e in errors if isinstance(e, dict))
    return CrmError(status, message or f"HTTP {status}", retryable=status >= 500, body={"errors": errors})


def quote_url(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def quote(value: str) -> str:
    """A SOQL string literal."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"'}


def like(text: str) -> str:
    """A SOQL LIKE literal matching names that contain `text`: its own % and _ match themselves
    (escaped as \\% and \\_), and quotes and backslashes cannot end the literal."""
    escaped = "".join(_ESCAPES.get(c, "\\" + c if c in "%_" else c) for c in str(text))
    return "'%" + escaped + "%'"


def soql_datetime(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def to_ms(value) -> int:
    """A Salesforce datetime ("2026-12-01T23:45:13.000+0000") as ms since epoch."""
    if not value:
        return 0
    text = str(value).replace("Z", "+0000")
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return int(datetime.strptime(text, pattern).timestamp() * 1000)
        except ValueError:
            continue
    return 0
