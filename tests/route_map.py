"""The app's routes and forms, enumerated rather than listed, for the sweeps that must cover new routes.

`tests/integration/test_hostile_input.py` posts hostile values to every form it finds this way, and
`tests/integration/test_route_matrix.py` asks for other organizations' records on every route with
a record in its path. Nobody edits a list when a route is added: the URL map is the list.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

from sqlalchemy import inspect
from werkzeug.routing import AnyConverter, IntegerConverter

from portal.extensions import db

ARGUMENT = re.compile(r"<(?:(?P<converter>[^:>]+):)?(?P<name>[^>]+)>")
# Routes that check their own signed tokens instead of the session's CSRF token (README, issue #15).
OWN_TOKEN_ENDPOINTS_PREFIXES = ("webhooks.", "public.")


@dataclass
class Route:
    rule: str
    endpoint: str
    methods: tuple[str, ...]
    arguments: tuple[str, ...]
    # Arguments that take one of a few words (`<any(approve, reject):action>`): the first word.
    choices: dict[str, str] = field(default_factory=dict)
    integers: frozenset[str] = frozenset()   # arguments with the int converter: ids

    def path(self, values: dict[str, object]) -> str:
        return ARGUMENT.sub(lambda m: str(self.choices.get(m.group("name"), values.get(m.group("name"), "1"))),
                            self.rule)

    @property
    def records(self) -> tuple[str, ...]:
        """The arguments that name a record: an int id, or a unique column of a table (a link's code).
        A word from a fixed list, or a name such as a report's, is none."""
        return tuple(a for a in self.arguments
                     if a not in self.choices and (a in self.integers or model_for(a) is not None))


def routes(app) -> list[Route]:
    """Every route of the app but the static files, with its methods (HEAD and OPTIONS left out)."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        choices = {name: sorted(converter.items)[0] for name, converter in rule._converters.items()
                   if isinstance(converter, AnyConverter)}
        integers = frozenset(name for name, converter in rule._converters.items()
                             if isinstance(converter, IntegerConverter))
        found.append(Route(rule.rule, rule.endpoint, tuple(sorted(rule.methods - {"HEAD", "OPTIONS"})),
                           tuple(m.group("name") for m in ARGUMENT.finditer(rule.rule)), choices, integers))
    return sorted(found, key=lambda r: r.rule)


def checks_own_token(route: Route) -> bool:
    return route.endpoint.startswith(OWN_TOKEN_ENDPOINTS_PREFIXES)


# ---- which table a path argument names ---------------------------------------------------------

def _words(name: str) -> set[str]:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    words = set(snake.split("_"))
    return words | {w[:-1] for w in words if w.endswith("s")}


# Arguments whose table no rule can guess: a deal is a registration (not its tallies, which also
# start with "deal" and have the shorter name).
NAMED = {"deal_id": "deal_registrations"}


def model_for(argument: str):
    """The mapped class an argument like `referral_id`, `plan_id` or `code` points at, or None.

    A foreign key column of the same name anywhere in the schema says it best (`link_id` in
    referrals points at referral_links). Else `referral_id` is the table `referrals`; `plan_id` a class whose name ends in "Plan"
    (CommissionPlan, not LinkVisit for `link_id`); `code` the class with a unique `code` column
    (ReferralLink). The exact table name wins, then the last word of the class name, then any
    word; among several the shortest name wins (Lead before LeadNote).
    """
    classes = [mapper.class_ for mapper in db.Model.registry.mappers]
    if not argument.endswith("_id"):
        with_column = [c for c in classes if argument in c.__table__.columns and c.__table__.columns[argument].unique]
        return with_column[0] if len(with_column) == 1 else None
    # What the schema itself calls `link_id`: the table such foreign keys point at.
    targets = Counter(fk.column.table.name for c in classes for column in c.__table__.columns
                      if column.name == argument for fk in column.foreign_keys)
    if targets:
        table = targets.most_common(1)[0][0]
        return next(c for c in classes if c.__tablename__ == table)
    if argument in NAMED:
        return next(c for c in classes if c.__tablename__ == NAMED[argument])
    stem = argument[:-3]
    exact = [c for c in classes if c.__tablename__ in (stem, stem + "s")]
    if exact:
        return exact[0]
    last = [c for c in classes if stem in _words(re.findall(r"[A-Z][a-z0-9]*", c.__name__)[-1])]
    words = last or [c for c in classes if stem in _words(c.__name__) | _words(c.__tablename__)]
    return min(words, key=lambda c: len(c.__tablename__)) if words else None


def organization_of(row) -> set[int]:
    """The organizations a row belongs to, through its foreign keys (a referral: its partner; a user: theirs)."""
    from portal.models import Organization
    if isinstance(row, Organization):
        return {row.id}
    owners = set()
    for column in inspect(type(row)).columns:
        for fk in column.foreign_keys:
            if fk.column.table.name == "organizations" and getattr(row, column.key, None) is not None:
                owners.add(getattr(row, column.key))
            elif fk.column.table.name == "users" and getattr(row, column.key, None) is not None:
                from portal.models import User
                user = db.session.get(User, getattr(row, column.key))
                if user is not None:
                    owners.add(user.organization_id)
    return owners


def key_of(row, argument: str):
    return getattr(row, argument if not argument.endswith("_id") else inspect(type(row)).primary_key[0].key)


# ---- the forms on the pages --------------------------------------------------------------------

@dataclass
class HtmlForm:
    action: str
    fields: dict[str, str] = field(default_factory=dict)   # name -> the value the page would send


class FormScraper(HTMLParser):
    """The POST forms of a page (<form method=post> and hx-post elements) with their fields' defaults."""

    def __init__(self, page_path: str):
        super().__init__()
        self.page_path = page_path
        self.forms: list[HtmlForm] = []
        self._current: HtmlForm | None = None
        self._select: str | None = None
        self._select_default_set = False
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method", "get").lower() == "post" or "hx-post" in attrs):
            self._current = HtmlForm(attrs.get("hx-post") or attrs.get("action") or self.page_path)
            self.forms.append(self._current)
            return
        if tag == "button" and "hx-post" in attrs and self._current is None:
            self.forms.append(HtmlForm(attrs["hx-post"]))
        if self._current is None or not attrs.get("name"):
            if tag == "option" and self._select and self._current is not None:
                self._option(attrs)
            return
        name = attrs["name"]
        if tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attrs or name not in self._current.fields:
                    self._current.fields[name] = attrs.get("value", "y")
            elif kind not in ("submit", "button", "file"):
                self._current.fields[name] = attrs.get("value", "")
        elif tag == "select":
            self._select, self._select_default_set = name, False
            self._current.fields.setdefault(name, "")
        elif tag == "textarea":
            self._textarea = name
            self._current.fields[name] = ""

    def _option(self, attrs):
        value = attrs.get("value", "")
        if "selected" in attrs or not self._select_default_set:
            self._current.fields[self._select] = value
            self._select_default_set = self._select_default_set or value != "" or "selected" in attrs

    def handle_data(self, data):
        if self._textarea and self._current is not None:
            self._current.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_on(html: str, page_path: str) -> list[HtmlForm]:
    scraper = FormScraper(page_path)
    scraper.feed(html)
    return scraper.forms
