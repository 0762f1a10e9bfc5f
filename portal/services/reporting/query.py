"""A report state (filters, columns, sort, page) as a URL, and the query it runs for one user.

The state lives in the query string only, so every report is a URL to bookmark or share:
`?f1=cf_region&o1=is&v1=EMEA&f2=created_at&o2=between&v2=2026-01-01&w2=2026-03-31&sort=-created_at&cols=number,company_name`.
Filters are always ANDed onto the entity's access-scoped select, so no filter a user crafts can
widen what they see; a field they may not see is ignored as if it did not exist.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Iterator, Mapping
from urllib.parse import urlencode

from sqlalchemy import func, select

from portal import money
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import User
from portal.services import settings
from portal.services.reporting import entities  # noqa: F401  (registers the entities)
from portal.services.reporting.fields import ENTITIES, Entity, Field

PER_PAGE = 50
MAX_FILTERS = 20


@dataclass
class Filter:
    field: str
    op: str
    value: str = ""
    value2: str = ""
    error: str | None = None


@dataclass
class ReportState:
    entity: str
    filters: list[Filter] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    sort: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, entity: str, args: Mapping[str, list[str]]) -> ReportState:
        """Parse a query string given as {name: [values]} (what `request.args.to_dict(flat=False)` gives)."""
        def one(name: str) -> str:
            values = args.get(name) or [""]
            return (values[0] or "").strip()[:500]

        indexes = sorted({int(name[1:]) for name in args if name[:1] == "f" and name[1:].isdigit()})[:MAX_FILTERS]
        filters = [Filter(one(f"f{i}"), one(f"o{i}") or "is", one(f"v{i}"), one(f"w{i}"))
                   for i in indexes if one(f"f{i}")]
        # `col` repeated is what the column checkboxes send; `cols` is the compact form links use.
        columns = [c for c in (args.get("col") or one("cols").split(",")) if c]
        try:
            page = max(int(one("page") or 1), 1)
        except ValueError:
            page = 1
        return cls(entity=entity, filters=filters, columns=columns, sort=one("sort"), page=page)

    @classmethod
    def from_query(cls, entity: str, query: str) -> ReportState:
        from urllib.parse import parse_qs
        return cls.from_args(entity, parse_qs(query or "", keep_blank_values=True))

    def args(self, *, page: bool = True) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for index, flt in enumerate(self.filters, start=1):
            pairs += [(f"f{index}", flt.field), (f"o{index}", flt.op)]
            if flt.value:
                pairs.append((f"v{index}", flt.value))
            if flt.value2:
                pairs.append((f"w{index}", flt.value2))
        if self.columns:
            pairs.append(("cols", ",".join(self.columns)))
        if self.sort:
            pairs.append(("sort", self.sort))
        if page and self.page > 1:
            pairs.append(("page", str(self.page)))
        return pairs

    def query_string(self, *, page: bool = True) -> str:
        return urlencode(self.args(page=page))

    def sorted_by(self, key: str) -> str:
        """The query string sorted on `key`: ascending first, descending when it already is."""
        return replace(self, sort=f"-{key}" if self.sort == key else key, page=1).query_string()

    def moved(self, key: str, delta: int) -> str:
        """The query string with column `key` moved `delta` places (left is negative)."""
        columns = list(self.columns)
        index = columns.index(key)
        target = min(max(index + delta, 0), len(columns) - 1)
        columns.insert(target, columns.pop(index))
        return replace(self, columns=columns).query_string()

    def at_page(self, number: int) -> str:
        return replace(self, page=number).query_string()


@dataclass
class Totals:
    count: int
    sums: list[tuple[str, dict[str, Decimal]]]


@dataclass
class Page:
    rows: list[dict]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


class Report:
    """One entity's report for one user in one state: its columns, its rows, its totals."""

    def __init__(self, user: User, entity: Entity, state: ReportState):
        self.user, self.entity = user, entity
        visible = set(settings.get("lead_deal_visibility")["fields"]) if not user.is_internal else set()
        self.fields: dict[str, Field] = {f.key: f for f in entity.fields_for(user, visible)}
        columns = [key for key in state.columns if key in self.fields] or \
                  [key for key in entity.default_columns if key in self.fields]
        self.columns: list[Field] = [self.fields[key] for key in dict.fromkeys(columns)]
        sort = state.sort if state.sort.lstrip("-") in self.fields else entity.default_sort
        self.sort_key, self.descending = sort.lstrip("-"), sort.startswith("-")
        self.errors: list[str] = []
        self.conditions = []
        for flt in state.filters:
            definition = self.fields.get(flt.field)
            if definition is None:
                flt.error = "There is no such field in this report."
                continue
            allowed = [op for op, _ in definition.operators()]
            if flt.op not in allowed:
                flt.op = allowed[0]  # the field changed under the row: start from its first operator
            if flt.op != "empty" and not flt.value.strip():
                continue  # a filter still being filled in narrows nothing yet
            try:
                self.conditions.append(definition.condition(flt.op, flt.value, flt.value2))
            except DomainError as err:
                flt.error = err.message
                self.errors.append(err.message)
        self.state = replace(state, columns=[c.key for c in self.columns], sort=sort)
        self._choice_labels: dict[str, dict[str, str]] = {}

    # ---- SQL ------------------------------------------------------------------------------

    def filtered(self):
        query = self.entity.base(self.user)
        for condition in self.conditions:
            query = query.where(condition)
        return query

    def _currency_keys(self) -> list[str]:
        shown = {c.key for c in self.columns}
        return [c.currency_key for c in self.columns if c.currency_key and c.currency_key not in shown
                and c.currency_key in self.fields]

    def select(self):
        """id, the chosen columns, and the currency of any money column, in the chosen sort order."""
        extra = [self.fields[key] for key in dict.fromkeys(self._currency_keys())]
        columns = [self.entity.id_expr().label("_id")] + [f.expr().label(f.key) for f in self.columns + extra]
        sort_expr = self.fields[self.sort_key].expr()
        order = sort_expr.desc() if self.descending else sort_expr.asc()
        id_order = self.entity.id_expr().desc() if self.descending else self.entity.id_expr().asc()
        return self.filtered().with_only_columns(*columns).order_by(order, id_order)

    def page(self, *, per_page: int = PER_PAGE) -> Page:
        number = self.state.page
        rows = [dict(row._mapping) for row in db.session.execute(
            self.select().limit(per_page).offset((number - 1) * per_page))]
        return Page(rows=rows, total=self.count(), page=number, per_page=per_page)

    def count(self) -> int:
        ids = self.filtered().with_only_columns(self.entity.id_expr()).subquery()
        return db.session.scalar(select(func.count()).select_from(ids)) or 0

    def totals(self) -> Totals:
        """How many rows, and each visible money field summed per currency (never across currencies)."""
        sums = []
        for definition in self.fields.values():
            if definition.kind != "money" or definition.currency_key not in self.fields:
                continue
            currency = self.fields[definition.currency_key].expr()
            query = (self.filtered().with_only_columns(currency, func.sum(definition.expr()))
                     .where(definition.expr().is_not(None)).group_by(currency).order_by(currency))
            values = {code: money.quantize(total or 0, code) for code, total in db.session.execute(query) if code}
            if values:
                sums.append((definition.label, values))
        return Totals(count=self.count(), sums=sums)

    def iter_rows(self, *, batch: int = 2000) -> Iterator[dict]:
        """Every row, streamed from the database in batches (server-side cursor on PostgreSQL)."""
        result = db.session.execute(self.select().execution_options(yield_per=batch))
        for row in result:
            yield row._mapping

    # ---- presentation ---------------------------------------------------------------------

    def label_of(self, key: str, value) -> str:
        labels = self._choice_labels.get(key)
        if labels is None:
            definition = self.fields[key]
            labels = dict(definition.choices()) if definition.choices else {}
            self._choice_labels[key] = labels
        return labels.get(str(value), str(value))

    def currency_of(self, definition: Field, row) -> str | None:
        return row.get(definition.currency_key) if definition.currency_key else None

    def display(self, definition: Field, row) -> str:
        """A cell as the report page shows it."""
        value = row.get(definition.key)
        if value is None or value == "":
            return "—"
        if definition.kind == "money":
            return money.format_amount(value, self.currency_of(definition, row))
        if definition.kind == "datetime" and isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M")
        if definition.kind == "day" and isinstance(value, date):
            return value.isoformat()
        if definition.kind == "choice":
            return self.label_of(definition.key, value)
        if definition.kind == "bool":
            return "Yes" if value else "No"
        if definition.kind == "number" and isinstance(value, Decimal):
            return f"{value.normalize():f}"
        return str(value)

    def export_header(self) -> list[str]:
        header = []
        for definition in self.columns:
            header.append(definition.label)
            if definition.kind == "money" and definition.currency_key not in {c.key for c in self.columns}:
                header.append(f"{definition.label} currency")
        return header

    def export_cells(self, row) -> list:
        """A row as typed cells: numbers stay numbers, times are UTC, choices are their labels."""
        cells = []
        shown = {c.key for c in self.columns}
        for definition in self.columns:
            value = row.get(definition.key)
            if value is not None and definition.kind == "choice":
                value = self.label_of(definition.key, value)
            elif isinstance(value, datetime):
                value = value.replace(tzinfo=None, microsecond=0)
            elif definition.kind == "bool" and value is not None:
                value = "Yes" if value else "No"
            elif definition.kind == "money" and value is not None:
                # Stored with three decimals (for KWD's): a dollar amount is exported with its two.
                value = money.quantize(value, self.currency_of(definition, row) or "USD")
            cells.append(value)
            if definition.kind == "money" and definition.currency_key not in shown:
                cells.append(self.currency_of(definition, row))
        return cells


def entity(key: str) -> Entity:
    """A registered entity by key. Raises NotFound."""
    found = ENTITIES.get(key)
    if found is None:
        raise NotFound()
    return found


def available_entities(user: User) -> list[Entity]:
    return [e for e in ENTITIES.values() if e.available(user)]


def build(user: User, entity_key: str, state: ReportState) -> Report:
    """The report of `entity_key` for `user` in `state`. Raises NotFound for an unknown entity."""
    found = entity(entity_key)
    if not found.available(user):
        raise NotFound()
    return Report(user, found, state)
