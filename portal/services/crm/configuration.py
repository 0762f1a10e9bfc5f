"""What a connection syncs: its field mappings and its qualification rules."""
from __future__ import annotations

from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import CrmConnection, CustomField, FieldMapping, QualificationRule
from portal.services import statuses
from portal.models.accounts import TIERS
from portal.sync import connectors, entities, entity_organizations, mapping, qualification

ENTITY = entities.REFERRAL  # the records the mappings editor maps (deal registrations... later)


def portal_fields() -> list[tuple[str, str]]:
    """(name, label) of every portal field a mapping may use: the standard ones, then custom fields."""
    custom = db.session.scalars(db.select(CustomField).order_by(CustomField.position, CustomField.id))
    return ([(name, label) for name, (label, _kind, _pull) in ENTITY.fields.items()] +
            [(mapping.CUSTOM_PREFIX + f.key, f"{f.label} (custom)") for f in custom])


def mapping_objects(connection: CrmConnection) -> list[tuple[str, str]]:
    """(object, label) of the CRM objects a connection's mappings may name: a referral's, and the
    account and contact of organization sync where the connector has them."""
    connector = connectors.get(connection.provider)
    labels = {"deal": connector.object_labels.get("deal", "Deal"),
              "contact": connector.object_labels.get("contact", "Contact"),
              "company": connector.object_labels.get("company", "Company"),
              "account": f"{connector.object_labels.get('account', 'Account')} (organization)",
              "partner_contact": f"{connector.object_labels.get('partner_contact', 'Contact')} (partner user)"}
    return [(name, labels[name]) for name in getattr(connector, "mapping_objects", mapping.REFERRAL_OBJECTS)]


def portal_field_groups(connection: CrmConnection) -> dict[str, list[tuple[str, str]]]:
    """The portal fields a mapping may use, grouped by the records they belong to (a referral's for
    its deal, contact and company; an organization's for an account; a user's for a partner contact)."""
    objects = {name for name, _label in mapping_objects(connection)}
    groups = {"Referral (deal, contact, company)": portal_fields()}
    for entity in entities.ENTITIES.values():
        if entity.crm_object in objects and entity.crm_object not in mapping.REFERRAL_OBJECTS:
            label = dict(mapping_objects(connection))[entity.crm_object]
            groups[label] = [(name, spec[0]) for name, spec in entity.fields.items()]
    return groups


def portal_picklists() -> dict[str, list[tuple[str, str]]]:
    """Portal field -> its (value, label) options, for value maps: the statuses and custom selects,
    and an organization's partner status, kind and tier."""
    lists = {"status": [(s.key, s.label) for s in statuses.all_statuses()],
             "partner_status": [(k, k.replace("_", " ").capitalize()) for k in entity_organizations.PARTNER_STATUSES],
             "kind": [(k, k.capitalize()) for k in entity_organizations.MANAGED_KINDS],
             "tier": [(t, t.capitalize()) for t in TIERS]}
    for f in db.session.scalars(db.select(CustomField).where(CustomField.kind == "select")):
        lists[mapping.CUSTOM_PREFIX + f.key] = [(o, o) for o in f.options or []]
    return lists


def _object_fields() -> dict:
    """CRM objects whose records are not referrals -> their portal fields (an account: an organization's)."""
    return {entity.crm_object: entity.fields for entity in entities.ENTITIES.values()
            if entity.crm_object not in mapping.REFERRAL_OBJECTS}


def mappings_of(connection: CrmConnection) -> list[mapping.Mapping]:
    return mapping.of(connection)


def save_mappings(connection: CrmConnection, mappings: list[mapping.Mapping]) -> None:
    """Replace the connection's mappings. Raises DomainError (nothing saved) if one is wrong or a
    required mapping is missing."""
    custom = set(db.session.scalars(db.select(CustomField.key)))
    described = [(crm_object, p) for crm_object, found in (connection.crm_properties or {}).items()
                 if isinstance(found, list) for p in found if isinstance(p, dict) and p.get("name")]
    mapping.validate(mappings, fields=ENTITY.fields, required=connectors.get(connection.provider).required_fields,
                     custom_keys=custom, object_fields=_object_fields(),
                     crm_options={(crm_object, p["name"]): [o for o in p.get("options") or [] if o]
                                  for crm_object, p in described if p.get("options")},
                     crm_lengths={(crm_object, p["name"]): int(p["length"]) for crm_object, p in described
                                  if isinstance(p.get("length"), int) and p["length"] > 0})
    connection.mappings.clear()
    db.session.flush()
    for position, m in enumerate(mappings):
        connection.mappings.append(mapping_row(m, position))
    db.session.commit()


def mapping_row(m: mapping.Mapping, position: int) -> FieldMapping:
    return FieldMapping(crm_object=m.crm_object, portal_field=m.portal_field, crm_field=m.crm_field,
                        direction=m.direction, default_value=m.default_value, value_map=dict(m.value_map or {}),
                        position=position)


def rules_of(connection: CrmConnection) -> list[qualification.Rule]:
    return qualification.of(connection)


def add_rule(connection: CrmConnection, *, trigger: str, values: list[str], target_status: str,
             crm_property: str | None = None) -> QualificationRule:
    """"When the deal stage becomes one of [...]" / "when property P changes to one of [...]" -> status.
    Raises DomainError (nothing added) for an incomplete rule."""
    if trigger not in qualification.TRIGGERS:
        raise DomainError("Choose a deal stage or a deal property rule.", field="trigger")
    if trigger == "property" and not (crm_property or "").strip():
        raise DomainError("Name the deal property.", field="crm_property")
    if trigger == "contact":
        if not getattr(connectors.get(connection.provider), "contact_rules", False):
            raise DomainError("This CRM's sync does not read contacts; choose another kind of rule.", field="trigger")
        if not (crm_property or "").strip():
            raise DomainError("Name the contact's property.", field="crm_property")
    values = [v.strip() for v in values if v and v.strip()]
    if not values:
        raise DomainError("Give at least one value.", field="values")
    statuses.get(target_status)  # raises for an unknown status
    rule = QualificationRule(trigger=trigger, crm_property=(crm_property or "").strip() or None, values=values,
                             target_status=target_status, position=len(connection.rules))
    connection.rules.append(rule)
    db.session.commit()
    return rule


def delete_rule(connection: CrmConnection, rule_id: int) -> None:
    rule = db.session.get(QualificationRule, rule_id)
    if rule is None or rule.connection_id != connection.id:
        raise NotFound()
    db.session.delete(rule)
    db.session.commit()
