"""CRM search (FACTS §1.5): filterGroups (OR of ANDs), one sort, `after` paging, 10,000 cap.

Filters become `id IN (SELECT object_id FROM hs_values WHERE ...)` over indexed columns;
creation and modification dates and the record id are columns of hs_objects themselves.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm_sandbox import clock, store
from crm_sandbox.hubspot import errors, objects, properties

MAX_LIMIT = 200
MAX_RESULTS = 10_000
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 6, 18
MAX_QUERY_CHARS = 3000
OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
             "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
# Searchable by free text (`query`), FACTS §1.5.
QUERY_PROPERTIES = {
    "contacts": ["firstname", "lastname", "email", "phone", "mobilephone", "company"],
    "companies": ["website", "phone", "name", "domain"],
    "deals": ["dealname", "pipeline", "dealstage", "description", "dealtype"],
}

_o = store.hs_objects
_v = store.hs_values


def search(session: Session, object_type: str, body: dict) -> tuple[int, list[objects.Record], int | None]:
    """(total, records of this page, next offset or None). Raises a 400 HubSpotError."""
    if not isinstance(body, dict):
        raise errors.validation("Invalid search request body")
    defs = properties.definitions(session, object_type)
    limit = _int(body.get("limit", 10), "limit")
    if not 0 <= limit <= MAX_LIMIT:
        raise errors.validation(f"limit must be between 0 and {MAX_LIMIT}")
    after = _int(body.get("after") or 0, "after")
    if after >= MAX_RESULTS or after + limit > MAX_RESULTS:
        # "Attempting to page beyond 10,000 will result in a 400 error" [FACTS §1.5]
        raise errors.validation(f"Search results are limited to {MAX_RESULTS} total results; "
                                f"after={after} goes beyond")
    where = [_o.c.object_type == object_type, _o.c.archived.is_(False)]
    groups = body.get("filterGroups") or []
    if groups:
        where.append(sa.or_(*[_group(defs, object_type, g) for g in _check_groups(groups)]))
    text = body.get("query")
    if text:
        where.append(_free_text(object_type, str(text)))
    total = session.execute(sa.select(sa.func.count()).select_from(_o).where(*where)).scalar_one()
    statement = sa.select(_o).where(*where)
    statement = _order(statement, defs, body.get("sorts") or [])
    rows = session.execute(statement.offset(after).limit(limit)).all()
    records = [objects._record(r) for r in rows]
    next_after = after + limit if after + limit < min(total, MAX_RESULTS) else None
    return total, records, next_after


def _int(value, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.validation(f"{name} must be an integer") from None


def _check_groups(groups) -> list:
    if not isinstance(groups, list):
        raise errors.validation("filterGroups must be a list")
    if len(groups) > MAX_GROUPS:
        raise errors.validation(f"Too many filter groups: {len(groups)}; the maximum is {MAX_GROUPS}")
    total = 0
    for group in groups:
        if not isinstance(group, dict):
            raise errors.validation("Invalid input JSON on line 1: each filter group is an object "
                                    "{\"filters\": [...]}")
        filters = group.get("filters") or []
        if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
            raise errors.validation("Invalid input JSON on line 1: filters must be a list of objects "
                                    "{\"propertyName\", \"operator\", \"value\"}")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise errors.validation(f"Too many filters in a group: {len(filters)}; "
                                    f"the maximum is {MAX_FILTERS_PER_GROUP}")
        total += len(filters)
    if total > MAX_FILTERS:
        raise errors.validation(f"Too many filters: {total}; the maximum is {MAX_FILTERS}")
    return groups


def _group(defs: dict, object_type: str, group: dict):
    filters = group.get("filters") or []
    if not filters:
        return sa.true()
    return sa.and_(*[_filter(defs, object_type, f) for f in filters])


def _filter(defs: dict, object_type: str, item: dict):
    name, op = item.get("propertyName"), item.get("operator", "EQ")
    if not name or not isinstance(name, str):
        raise errors.validation("Each filter needs a propertyName")
    if op not in OPERATORS:
        raise errors.validation(f"Unknown filter operator {op}; one of {sorted(OPERATORS)}")
    if name.startswith("associations."):
        return _association_filter(name.split(".", 1)[1], op, item)
    if name not in defs:
        raise errors.validation(f"Property {name} does not exist for {object_type}", [
            {"message": f'Property "{name}" does not exist', "code": "PROPERTY_DOESNT_EXIST",
             "context": {"propertyName": [name]}}])
    column = _column(name)
    if column is not None:
        return _column_filter(column, op, item)
    numeric = properties.numeric(defs, name)
    if op == "HAS_PROPERTY":
        return _o.c.id.in_(sa.select(_v.c.object_id).where(_v.c.name == name))
    if op == "NOT_HAS_PROPERTY":
        return _o.c.id.not_in(sa.select(_v.c.object_id).where(_v.c.name == name))
    if op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN"):
        positive = {"NEQ": "EQ", "NOT_IN": "IN", "NOT_CONTAINS_TOKEN": "CONTAINS_TOKEN"}[op]
        return _o.c.id.not_in(_matching(defs, name, positive, item, numeric))
    return _o.c.id.in_(_matching(defs, name, op, item, numeric))


def _matching(defs: dict, name: str, op: str, item: dict, numeric: bool):
    """SELECT object_id FROM hs_values for one positive condition on one property."""
    condition = _value_condition(_v.c.value_num if numeric else _v.c.value_lower, op, item,
                                 (lambda raw: _number(defs, name, raw)) if numeric else _text)
    return sa.select(_v.c.object_id).where(_v.c.name == name, condition)


def _value_condition(column, op: str, item: dict, convert):
    if op == "CONTAINS_TOKEN":
        token = str(item.get("value", "")).lower()
        # `*` is HubSpot's wildcard over the whole value (`*@hubspot.com`, FACTS §1.5);
        # without it the token must be one whole word of the value.
        if "*" in token:
            return _v.c.value_lower.like(token.replace("*", "%"))
        column = _v.c.value_lower
        return sa.or_(column == token, column.like(f"{token} %"), column.like(f"% {token}"),
                      column.like(f"% {token} %"))
    if op in ("IN",):
        values = item.get("values")
        if not isinstance(values, list):
            raise errors.validation("IN and NOT_IN filters need a `values` list")
        return column.in_([convert(v) for v in values])
    if op == "BETWEEN":
        return column.between(convert(item.get("value")), convert(item.get("highValue")))
    value = convert(item.get("value"))
    return {"EQ": column == value, "LT": column < value, "LTE": column <= value,
            "GT": column > value, "GTE": column >= value}[op]


def _text(raw) -> str:
    if raw is None:
        raise errors.validation("This filter needs a value")
    return str(raw).lower()


def _number(defs: dict, name: str, raw) -> float:
    if raw is None:
        raise errors.validation("This filter needs a value")
    value = properties.number_value(defs[name], str(raw))
    if value is None:
        raise errors.validation(f"{raw} is not a valid value for {name}")
    return value


def _column(name: str):
    if name == "hs_object_id":
        return _o.c.id
    if name == "createdate":
        return _o.c.created_at
    if name in ("hs_lastmodifieddate", "lastmodifieddate"):
        return _o.c.updated_at
    return None


def _column_filter(column, op: str, item: dict):
    convert = _int_value if column is _o.c.id else _ms_value
    if op == "HAS_PROPERTY":
        return sa.true()
    if op == "NOT_HAS_PROPERTY":
        return sa.false()
    if op == "CONTAINS_TOKEN" or op == "NOT_CONTAINS_TOKEN":
        raise errors.validation(f"{op} is not supported on this property")
    if op in ("IN", "NOT_IN"):
        values = [convert(v) for v in item.get("values") or []]
        return column.in_(values) if op == "IN" else column.not_in(values)
    if op == "BETWEEN":
        return column.between(convert(item.get("value")), convert(item.get("highValue")))
    value = convert(item.get("value"))
    return {"EQ": column == value, "NEQ": column != value, "LT": column < value,
            "LTE": column <= value, "GT": column > value, "GTE": column >= value}[op]


def _int_value(raw) -> int:
    try:
        return int(str(raw))
    except ValueError:
        raise errors.validation(f"{raw} is not a valid record id") from None


def _ms_value(raw) -> int:
    ms = clock.parse_datetime_ms(str(raw)) if raw is not None else None
    if ms is None:
        raise errors.validation(f"{raw} is not a valid date; send epoch milliseconds or ISO-8601")
    return ms


def _association_filter(to_name: str, op: str, item: dict):
    a = store.hs_associations
    if op not in ("EQ", "IN"):
        raise errors.validation("Association filters support EQ and IN")
    values = item.get("values") if op == "IN" else [item.get("value")]
    ids = [_int_value(v) for v in values or []]
    return _o.c.id.in_(sa.select(a.c.from_id).where(a.c.to_id.in_(ids)))


def _free_text(object_type: str, text: str):
    if len(text) > MAX_QUERY_CHARS:
        raise errors.validation(f"query is longer than {MAX_QUERY_CHARS} characters")
    pattern = f"%{text.lower()}%"
    return _o.c.id.in_(sa.select(_v.c.object_id).where(
        _v.c.name.in_(QUERY_PROPERTIES[object_type]), _v.c.value_lower.like(pattern)))


def _order(statement, defs: dict, sorts: list):
    if not isinstance(sorts, list):
        raise errors.validation("sorts must be a list")
    if len(sorts) > 1:
        raise errors.validation("Only one sorting rule can be applied to any search")
    if not sorts:
        return statement.order_by(_o.c.id)  # "in order of object creation (oldest first)"
    # The spec types sorts as strings ("-createdate"), the docs send objects: accept both.
    sort = sorts[0]
    if isinstance(sort, str):
        name, descending = sort.lstrip("-"), sort.startswith("-")
    elif isinstance(sort, dict):
        name = sort.get("propertyName")
        direction = str(sort.get("direction", "ASCENDING")).upper()
        if direction not in ("ASCENDING", "DESCENDING"):
            raise errors.validation(f"Invalid sort direction {sort.get('direction')!r}; "
                                    "ASCENDING or DESCENDING")
        descending = direction == "DESCENDING"
    else:
        raise errors.validation("Invalid input JSON on line 1: each sort is a property name "
                                "(\"-createdate\") or {\"propertyName\": ..., \"direction\": ...}")
    if not isinstance(name, str) or not name:
        raise errors.validation(f"Cannot sort by unknown property {name}")
    if name not in defs:
        raise errors.validation(f"Cannot sort by unknown property {name}")
    column = _column(name)
    if column is not None:
        keys = [column]
    else:
        sort_values = sa.select(_v.c.object_id, _v.c.value_num, _v.c.value_lower).where(
            _v.c.name == name).subquery()
        statement = statement.outerjoin(sort_values, sort_values.c.object_id == _o.c.id)
        keys = ([sort_values.c.value_num] if properties.numeric(defs, name)
                else [sort_values.c.value_lower])
    keys = [k.desc() if descending else k.asc() for k in keys]
    return statement.order_by(*keys, _o.c.id)
