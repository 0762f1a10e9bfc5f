"""Associations v4 between contacts, companies and deals (FACTS §1.6).

Associations are stored in both directions: writing contact→company type 1 also writes the
inverse company→contact type 2, and a primary label implies the unlabeled type, as in HubSpot.
"""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm_sandbox import store
from crm_sandbox.hubspot import errors, object_types, objects

HUBSPOT_DEFINED = "HUBSPOT_DEFINED"
# type id → (from type, to type, label)
TYPES = {
    1: ("contacts", "companies", "Primary"), 279: ("contacts", "companies", None),
    2: ("companies", "contacts", "Primary"), 280: ("companies", "contacts", None),
    3: ("deals", "contacts", None), 4: ("contacts", "deals", None),
    5: ("deals", "companies", "Primary"), 341: ("deals", "companies", None),
    6: ("companies", "deals", "Primary"), 342: ("companies", "deals", None),
}
INVERSE = {1: 2, 2: 1, 279: 280, 280: 279, 3: 4, 4: 3, 5: 6, 6: 5, 341: 342, 342: 341}
IMPLIES = {1: 279, 2: 280, 5: 341, 6: 342}
DEFAULT = {(f, t): type_id for type_id, (f, t, label) in TYPES.items() if label is None}

_a = store.hs_associations


def default_type(from_type: str, to_type: str) -> int:
    """The unlabeled type between two object types; 400 where this sandbox knows none."""
    type_id = DEFAULT.get((from_type, to_type))
    if type_id is None:
        raise errors.validation(f"There is no default association type from {from_type} to {to_type} "
                                "in this sandbox; use one of the labelled types of "
                                f"GET /crm/v4/associations/{from_type}/{to_type}/labels")
    return type_id


def v3_type_name(type_id: int) -> str:
    from_type, to_type, label = TYPES[type_id]
    name = f"{object_types.SINGULAR[from_type]}_to_{object_types.SINGULAR[to_type]}"
    return name if label else f"{name}_unlabeled" if type_id in IMPLIES.values() else name


def spec_json(type_id: int, category: str = HUBSPOT_DEFINED) -> dict:
    return {"category": category, "typeId": type_id, "label": TYPES[type_id][2]}


def labels(from_type: str, to_type: str) -> list[dict]:
    return [spec_json(type_id) for type_id, (f, t, _) in TYPES.items() if (f, t) == (from_type, to_type)]


def type_ids(from_type: str, to_type: str, specs) -> list[int]:
    """Validate association specs ({associationCategory, associationTypeId}) for a direction."""
    if not isinstance(specs, list) or not specs:
        raise errors.validation("types must be a non-empty list of association specs")
    result = []
    for spec in specs:
        try:
            type_id = int((spec or {}).get("associationTypeId"))
        except (TypeError, ValueError):
            raise errors.validation("associationTypeId must be a number") from None
        category = (spec or {}).get("associationCategory", HUBSPOT_DEFINED)
        known = TYPES.get(type_id)
        if category != HUBSPOT_DEFINED or known is None or known[:2] != (from_type, to_type):
            raise errors.validation(
                f"{category} {type_id} is not a valid association type from "
                f"{object_types.SINGULAR[from_type]} to {object_types.SINGULAR[to_type]}")
        result.append(type_id)
    return result


def associate(session: Session, from_type: str, to_type: str,
              pairs: list[tuple[int, int, list[int]]]) -> None:
    """Write associations (idempotently). Raises 400 when a record does not exist."""
    if not pairs:
        return
    _require(session, from_type, {p[0] for p in pairs})
    _require(session, to_type, {p[1] for p in pairs})
    wanted: set[tuple[int, str, int, int]] = set()
    for from_id, to_id, ids in pairs:
        for type_id in ids:
            for t in (type_id, IMPLIES.get(type_id)):
                if t is None:
                    continue
                wanted.add((from_id, to_type, to_id, t))
                wanted.add((to_id, from_type, from_id, INVERSE[t]))
    touched = {w[0] for w in wanted}
    existing = set(session.execute(sa.select(_a.c.from_id, _a.c.to_type, _a.c.to_id, _a.c.type_id)
                                   .where(_a.c.from_id.in_(touched))).tuples())
    missing = wanted - existing
    if missing:
        session.execute(sa.insert(_a), [
            {"from_id": f, "to_type": t, "to_id": i, "type_id": k, "category": HUBSPOT_DEFINED}
            for f, t, i, k in sorted(missing)])


def remove(session: Session, from_type: str, to_type: str, pairs: list[tuple[int, int]],
           type_ids_: list[int] | None = None) -> None:
    """Delete all associations (or only the given types) between each pair, both directions."""
    for from_id, to_id in pairs:
        forward = [_a.c.from_id == from_id, _a.c.to_type == to_type, _a.c.to_id == to_id]
        backward = [_a.c.from_id == to_id, _a.c.to_type == from_type, _a.c.to_id == from_id]
        if type_ids_:
            forward.append(_a.c.type_id.in_(type_ids_))
            backward.append(_a.c.type_id.in_([INVERSE[t] for t in type_ids_]))
        session.execute(sa.delete(_a).where(*forward))
        session.execute(sa.delete(_a).where(*backward))


def targets(session: Session, from_ids, to_type: str) -> dict[int, dict[int, list[int]]]:
    """{from id: {to id: [type ids]}} for active target records, in to-id order."""
    from_ids = [int(i) for i in from_ids]
    if not from_ids:
        return {}
    o = store.hs_objects
    rows = session.execute(
        sa.select(_a.c.from_id, _a.c.to_id, _a.c.type_id)
        .join(o, o.c.id == _a.c.to_id)
        .where(_a.c.from_id.in_(from_ids), _a.c.to_type == to_type, o.c.archived.is_(False))
        .order_by(_a.c.from_id, _a.c.to_id, _a.c.type_id))
    found: dict[int, dict[int, list[int]]] = defaultdict(dict)
    for from_id, to_id, type_id in rows:
        found[from_id].setdefault(to_id, []).append(type_id)
    return found


def _require(session: Session, object_type: str, ids: set[int]) -> None:
    present = objects.fetch(session, object_type, ids)
    missing = sorted(set(ids) - set(present))
    if missing:
        raise errors.validation(
            f"No {object_types.SINGULAR[object_type]} records with ids {missing} exist",
            [{"message": f"{object_types.SINGULAR[object_type]} {m} does not exist",
              "code": "OBJECT_NOT_FOUND", "context": {"id": [str(m)]}} for m in missing])
