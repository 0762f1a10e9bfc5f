"""Parents and children of records, for SOQL relationship queries (FACTS §2.6).

`attach_parents` puts each resolved parent's fields under its relationship name in the record
dict (`record["Account"] = {...}` or None), one look-up per relationship hop for all records;
`children` answers a child sub-query for a page of parents with one look-up.
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crm_sandbox import store
from crm_sandbox.salesforce import fields, records, soql


def attach_parents(session: Session, sobject: fields.SObject, rows: list[dict], chains: set[tuple]) -> None:
    by_first: dict[str, set[tuple]] = {}
    for chain in chains:
        if chain:
            by_first.setdefault(chain[0], set()).add(chain[1:])
    for relationship, deeper in by_first.items():
        reference = sobject.relationship(relationship)
        target = fields.sobject(reference.reference_to[0])
        wanted = {row.get(reference.name) for row in rows if row.get(reference.name)}
        found = records.fetch(session, wanted, sobject=target.name)
        parents = {record_id: dict(record.fields) for record_id, record in found.items()}
        attach_parents(session, target, list(parents.values()), {c for c in deeper if c})
        for row in rows:
            row[relationship] = parents.get(row.get(reference.name))


def children(session: Session, sub: soql.Query, parent_ids: list[str]) -> dict[str, list[dict]]:
    """{parent id: [child dicts that match the sub-query, sorted and limited]}."""
    if not parent_ids:
        return {}
    lookup = store.sf_lookup
    rows = session.execute(sa.select(store.sf_records).where(
        store.sf_records.c.is_deleted.is_(False),
        store.sf_records.c.id.in_(sa.select(lookup.c.record_id).where(
            lookup.c.sobject == sub.sobject.name, lookup.c.field == sub.child.field,
            lookup.c.value.in_([i.lower() for i in parent_ids])))))
    dicts = [json.loads(r.fields) for r in rows]
    attach_parents(session, sub.sobject, dicts, sub.chains(selected=True, filtering=True))
    grouped: dict[str, list[dict]] = {}
    for row in soql.sort(sub, [d for d in dicts if soql.matches(sub, d)]):
        grouped.setdefault(row.get(sub.child.field), []).append(row)
    if sub.limit is not None:
        grouped = {k: v[:sub.limit] for k, v in grouped.items()}
    return grouped


def shape(sobject: fields.SObject, row: dict, items: list, version: str, kids: dict | None = None) -> dict:
    """A query record: attributes, then the selected fields, parents nested, children as lists."""
    body = {"attributes": {"type": sobject.name,
                           "url": f"/services/data/{version}/sobjects/{sobject.name}/{row.get('Id')}"}}
    nested: dict[str, list] = {}
    order: list = []
    for item in items:
        if isinstance(item, soql.Query):
            order.append(("child", item))
        elif len(item.parts) == 1:
            order.append(("field", item))
        else:
            first = item.parts[0]
            if first not in nested:
                nested[first] = []
                order.append(("parent", first))
            nested[first].append(soql.Path(item.parts[1:], item.definition, item.targets[1:]))
    for kind, item in order:
        if kind == "field":
            body[item.parts[0]] = row.get(item.parts[0])
        elif kind == "parent":
            parent = row.get(item)
            target = fields.sobject(sobject.relationship(item).reference_to[0])
            body[item] = None if parent is None else shape(target, parent, nested[item], version)
        else:
            matched = (kids or {}).get(item.child.name, {}).get(row.get("Id"), [])
            body[item.child.name] = None if not matched else {
                "totalSize": len(matched), "done": True,
                "records": [shape(item.sobject, child, item.fields, version) for child in matched]}
    return body
