"""A SOQL subset (FACTS §2.6):

    SELECT f1, Parent.f2, (SELECT f3 FROM Children [WHERE ...] [ORDER BY ...] [LIMIT n]) | COUNT()
    FROM Object
    [WHERE cond {AND|OR cond} with parentheses and NOT; =, !=, <>, <, >, <=, >=, LIKE, IN, NOT IN]
    [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]

Literals: 'strings', numbers, true/false, null, dates (2026-09-01), datetimes
(2026-09-01T00:00:00Z), TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n.
String comparisons are case-insensitive, as in Salesforce. Field paths follow parent
relationships (`Account.Name`, `Account.Owner.Email`, `RecordType.DeveloperName`) in SELECT, WHERE
and ORDER BY; child sub-queries follow child relationships (`Contacts`, `Opportunities` on Account).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from crm_sandbox import clock
from crm_sandbox.salesforce import errors, fields

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*(?::\d+)?)
""", re.VERBOSE)


@dataclass(frozen=True)
class Path:
    """A selected or compared field: `Name`, or through parents, `Account.Owner.Name`."""
    parts: tuple           # canonical names: ("Account", "Owner", "Name")
    definition: fields.Field
    targets: tuple = ()    # the sObject reached by each relationship hop: ("Account", "User")

    @property
    def relationships(self) -> tuple:
        return self.parts[:-1]


@dataclass
class Condition:
    path: Path
    op: str
    value: object


@dataclass
class BoolOp:
    op: str  # AND, OR, NOT
    parts: list


@dataclass
class Query:
    sobject: fields.SObject
    fields: list = field(default_factory=list)       # Path or Query (a child sub-query), in order
    count_only: bool = False
    where: object = None
    order: list = field(default_factory=list)        # (Path, descending, nulls_last)
    limit: int | None = None
    offset: int = 0
    child: fields.Child | None = None                # set on a child sub-query

    @property
    def paths(self) -> list[Path]:
        return [f for f in self.fields if isinstance(f, Path)]

    @property
    def subqueries(self) -> list["Query"]:
        return [f for f in self.fields if isinstance(f, Query)]

    def chains(self, *, selected: bool, filtering: bool) -> set[tuple]:
        """Relationship chains (("Account",), ("Account", "Owner")) to resolve before evaluating."""
        paths = list(self.paths) if selected else []
        if filtering:
            paths += [p for p, _, _ in self.order] + _condition_paths(self.where)
        return {p.relationships[:depth] for p in paths for depth in range(1, len(p.relationships) + 1)}


def _condition_paths(node) -> list[Path]:
    if node is None:
        return []
    if isinstance(node, BoolOp):
        return [p for part in node.parts for p in _condition_paths(part)]
    return [node.path]


def _tokens(text: str) -> list[tuple[str, str]]:
    position, found = 0, []
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise errors.malformed_query(f"unexpected token: '{text[position:position + 20]}'")
        position = match.end()
        if match.lastgroup != "ws":
            found.append((match.lastgroup, match.group()))
    return found


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.i + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].upper() == words[0]:
            if all((self.peek(k) or ("", ""))[1].upper() == w for k, w in enumerate(words)):
                self.i += len(words)
                return True
        return False

    def expect(self, *words: str) -> None:
        if not self.keyword(*words):
            raise errors.malformed_query(f"expecting '{' '.join(words)}', found "
                                         f"'{(self.peek() or ('', 'end of query'))[1]}'")

    def take(self, kind: str) -> str:
        token = self.peek()
        if not token or token[0] != kind:
            raise errors.malformed_query(f"unexpected token: '{token[1] if token else 'end of query'}'")
        self.i += 1
        return token[1]

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token and token == ("punct", char):
            self.i += 1
            return True
        return False


def parse(text: str) -> Query:
    """Parse SOQL; raises MALFORMED_QUERY or INVALID_FIELD / INVALID_TYPE like Salesforce."""
    p = _Parser(text)
    query = _select(p, parent=None)
    if p.peek() is not None:
        raise errors.malformed_query(f"unexpected token: '{p.peek()[1]}'")
    return query


def _select(p: _Parser, parent: fields.SObject | None) -> Query:
    """SELECT ... FROM ... [WHERE] [ORDER BY] [LIMIT] [OFFSET]; a child sub-query when parent is set."""
    p.expect("SELECT")
    items, count_only = [], False
    if p.keyword("COUNT"):
        if not (p.punct("(") and p.punct(")")):
            raise errors.malformed_query("COUNT() takes no field in this sandbox")
        count_only = True
    else:
        items.append(_select_item(p, parent))
        while p.punct(","):
            items.append(_select_item(p, parent))
    p.expect("FROM")
    name = p.take("word")
    child = None
    if parent is not None:
        child = parent.child(name)
        if child is None:
            raise errors.SalesforceError(
                400, "INVALID_TYPE", f"Didn't understand relationship '{name}' in FROM part of query call. "
                "If you are attempting to use a custom relationship, be sure to append the '__r' after the "
                "custom relationship name. Please reference your WSDL or the describe call for the "
                "appropriate names.")
        sobject = fields.sobject(child.sobject)
    else:
        sobject = fields.sobject(name)
        if sobject is None:
            raise errors.SalesforceError(400, "INVALID_TYPE", f"sObject type '{name}' is not supported. If you "
                                         "are attempting to use a custom object, be sure to append the '__c' "
                                         "after the entity name.")
    query = Query(sobject, [], count_only, child=child)
    for item in items:
        query.fields.append(path(sobject, item) if isinstance(item, str) else item(sobject))
    if p.keyword("WHERE"):
        query.where = _or(p, sobject)
    if p.keyword("ORDER", "BY"):
        while True:
            ordered = path(sobject, p.take("word"))
            descending = p.keyword("DESC")
            if not descending:
                p.keyword("ASC")
            nulls_last = descending
            if p.keyword("NULLS", "FIRST"):
                nulls_last = False
            elif p.keyword("NULLS", "LAST"):
                nulls_last = True
            query.order.append((ordered, descending, nulls_last))
            if not p.punct(","):
                break
    if p.keyword("LIMIT"):
        query.limit = int(float(p.take("number")))
    if p.keyword("OFFSET"):
        query.offset = int(float(p.take("number")))
        if query.offset > 2000:
            raise errors.SalesforceError(400, "NUMBER_OUTSIDE_VALID_RANGE",
                                         "Maximum SOQL offset allowed is 2000")
    return query


def _select_item(p: _Parser, parent: fields.SObject | None):
    """A field path (text until FROM names the object) or a child sub-query (built once it does)."""
    if p.peek() != ("punct", "("):
        return p.take("word")
    if parent is not None:
        raise errors.malformed_query("Nesting of sub-queries is not supported")
    p.i += 1
    start, depth = p.i, 1
    while depth:
        token = p.peek()
        if token is None:
            raise errors.malformed_query("expecting ')'")
        depth += {("punct", "("): 1, ("punct", ")"): -1}.get(token, 0)
        p.i += 1
    inner = _Parser("")
    inner.tokens = p.tokens[start:p.i - 1]

    def build(sobject: fields.SObject) -> Query:
        sub = _select(inner, parent=sobject)
        if inner.peek() is not None:
            raise errors.malformed_query(f"unexpected token: '{inner.peek()[1]}'")
        if sub.count_only or sub.subqueries:
            raise errors.malformed_query("A child sub-query selects fields")
        return sub
    return build


def path(sobject: fields.SObject, text: str) -> Path:
    """Resolve `Name`, `Account.Name`, `Account.Owner.Email` against the schema."""
    parts = text.split(".")
    if len(parts) > 1 and parts[0].lower() == sobject.name.lower():
        parts = parts[1:]  # SELECT Lead.Email FROM Lead
    current, names, targets = sobject, [], []
    for hop in parts[:-1]:
        reference = current.relationship(hop)
        target = fields.sobject(reference.reference_to[0]) if reference and reference.reference_to else None
        if target is None:
            raise errors.SalesforceError(
                400, "INVALID_FIELD", f"Didn't understand relationship '{hop}' in field path. If you are "
                "attempting to use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name. Please reference your WSDL or the describe call for the appropriate names.")
        names.append(reference.relationship_name)
        targets.append(target.name)
        current = target
    definition = current.field(parts[-1]) if parts[-1] else None
    if definition is None:
        raise errors.SalesforceError(
            400, "INVALID_FIELD", f"No such column '{parts[-1]}' on entity '{current.name}'. If you are "
            "attempting to use a custom field, be sure to append the '__c' after the custom field name. "
            "Please reference your WSDL or the describe call for the appropriate names.")
    return Path(tuple(names) + (definition.name,), definition, tuple(targets))


def _or(p: _Parser, sobject):
    parts = [_and(p, sobject)]
    while p.keyword("OR"):
        parts.append(_and(p, sobject))
    return parts[0] if len(parts) == 1 else BoolOp("OR", parts)


def _and(p: _Parser, sobject):
    parts = [_not(p, sobject)]
    while p.keyword("AND"):
        parts.append(_not(p, sobject))
    return parts[0] if len(parts) == 1 else BoolOp("AND", parts)


def _not(p: _Parser, sobject):
    if p.keyword("NOT"):
        return BoolOp("NOT", [_not(p, sobject)])
    if p.punct("("):
        inner = _or(p, sobject)
        if not p.punct(")"):
            raise errors.malformed_query("expecting ')'")
        return inner
    name = path(sobject, p.take("word"))
    if p.keyword("NOT", "IN"):
        return Condition(name, "NOT IN", _list(p))
    if p.keyword("IN"):
        return Condition(name, "IN", _list(p))
    if p.keyword("LIKE"):
        return Condition(name, "LIKE", _like_literal(p))
    op = p.take("op")
    return Condition(name, "!=" if op == "<>" else op, _literal(p))


def _list(p: _Parser) -> list:
    if not p.punct("("):
        raise errors.malformed_query("expecting '(' after IN")
    values = [_literal(p)]
    while p.punct(","):
        values.append(_literal(p))
    if not p.punct(")"):
        raise errors.malformed_query("expecting ')'")
    return values


def _like_literal(p: _Parser) -> str:
    """A LIKE pattern keeps its escapes: `\\%` and `\\_` are a literal % and _, not wildcards."""
    token = p.peek()
    if token is None or token[0] != "string":
        raise errors.malformed_query("LIKE needs a string")
    p.i += 1
    return token[1][1:-1]


def _like_regex(pattern: str) -> str:
    parts, chars = [], iter(pattern.lower())
    for c in chars:
        if c == "\\":
            parts.append(re.escape(next(chars, "\\")))
        else:
            parts.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
    return "".join(parts)


def _literal(p: _Parser):
    token = p.peek()
    if token is None:
        raise errors.malformed_query("unexpected end of query")
    kind, text = token
    p.i += 1
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "number":
        return float(text)
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "datetime":
        return clock.parse_datetime_ms(text)
    if kind == "word":
        upper = text.upper()
        if upper in ("TRUE", "FALSE"):
            return upper == "TRUE"
        if upper == "NULL":
            return None
        return _date_literal(upper)
    raise errors.malformed_query(f"unexpected token: '{text}'")


def _date_literal(word: str):
    today = clock.today()
    fixed = {"TODAY": today, "YESTERDAY": today - timedelta(days=1), "TOMORROW": today + timedelta(days=1)}
    if word in fixed:
        return fixed[word]
    name, _, number = word.partition(":")
    if name == "LAST_N_DAYS" and number:
        return ("range", today - timedelta(days=int(number)), today)
    if name == "NEXT_N_DAYS" and number:
        return ("range", today, today + timedelta(days=int(number)))
    raise errors.malformed_query(f"unexpected token: '{word}'")


# --- evaluation --------------------------------------------------------------------------------
#
# Records are plain field dicts; a resolved parent sits under its relationship name
# (record["Account"] = the account's fields, or None), as `relations.attach_parents` leaves it.

def value_at(record: dict, target: Path):
    value = record
    for name in target.relationships:
        value = value.get(name) if isinstance(value, dict) else None
        if value is None:
            return None
    return value.get(target.parts[-1]) if isinstance(value, dict) else None


def _comparable(definition: fields.Field, value):
    """Bring a stored value and a literal to one comparable form for this field's type."""
    if value is None:
        return None
    kind = definition.type
    if kind == "datetime":
        if isinstance(value, date) and not isinstance(value, datetime):
            return int(datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp() * 1000)
        return value if isinstance(value, (int, float)) else clock.parse_datetime_ms(str(value))
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)[:10]
    if kind in ("int", "double", "currency", "percent"):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise errors.SalesforceError(400, "INVALID_QUERY_FILTER_OPERATOR",
                                         f"value of filter criterion for field '{definition.name}' must be "
                                         "of type double and should not be enclosed in quotes") from None
    if kind == "boolean":
        return bool(value)
    if isinstance(value, (date, tuple)) or isinstance(value, bool):
        raise errors.SalesforceError(400, "INVALID_QUERY_FILTER_OPERATOR",
                                     f"value of filter criterion for field '{definition.name}' must be "
                                     "of type string and should be enclosed in quotes")
    return str(value).lower()


def matches(query: Query, record: dict, node=None) -> bool:
    node = query.where if node is None else node
    if node is None:
        return True
    if isinstance(node, BoolOp):
        if node.op == "AND":
            return all(matches(query, record, n) for n in node.parts)
        if node.op == "OR":
            return any(matches(query, record, n) for n in node.parts)
        return not matches(query, record, node.parts[0])
    definition = node.path.definition
    left = _comparable(definition, value_at(record, node.path))
    if isinstance(node.value, tuple) and node.value[0] == "range":
        low, high = (_comparable(definition, v) for v in node.value[1:])
        return left is not None and low <= left <= high
    if node.op in ("IN", "NOT IN"):
        found = left in [_comparable(definition, v) for v in node.value]
        return found if node.op == "IN" else not found
    if node.op == "LIKE":
        if left is None:
            return False
        return re.fullmatch(_like_regex(str(node.value)), str(left).lower(), re.DOTALL) is not None
    right = _comparable(definition, node.value)
    if node.op == "=":
        return left == right
    if node.op == "!=":
        return left != right
    if left is None or right is None:
        return False
    try:
        return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[node.op]
    except TypeError:
        raise errors.SalesforceError(400, "INVALID_QUERY_FILTER_OPERATOR",
                                     f"invalid operator on field {definition.name}") from None


def sort(query: Query, records: list[dict]) -> list[dict]:
    for target, descending, nulls_last in reversed(query.order):
        present = [r for r in records if value_at(r, target) is not None]
        missing = [r for r in records if value_at(r, target) is None]
        present.sort(key=lambda r: _comparable(target.definition, value_at(r, target)), reverse=descending)
        records = present + missing if nulls_last else missing + present
    return records


def _top_level(query: Query) -> list:
    node = query.where
    return node.parts if isinstance(node, BoolOp) and node.op == "AND" else [node]


def modstamp_bounds(query: Query) -> tuple[int | None, int | None]:
    """(low, high) ms bounds on SystemModstamp/LastModifiedDate implied by top-level ANDed
    conditions, so the database can narrow the rows before they are decoded."""
    low = high = None
    for part in _top_level(query):
        if not isinstance(part, Condition) or part.path.parts not in (("SystemModstamp",), ("LastModifiedDate",)):
            continue
        if isinstance(part.value, tuple) or part.value is None:
            continue
        value = _comparable(part.path.definition, part.value)
        if part.op in (">", ">=", "="):
            low = value if low is None else max(low, value)
        if part.op in ("<", "<=", "="):
            high = value if high is None else min(high, value)
    return low, high


def indexed_condition(query: Query, indexed: set[str]) -> tuple[str, list] | None:
    """A top-level condition with `=` or `IN` on strings over an indexed field (Id, external ids,
    Email, child-relationship references), which the store answers from its index
    (`WHERE Email IN (...)`: the connector's duplicate look-ups)."""
    for part in _top_level(query):
        if not isinstance(part, Condition) or len(part.path.parts) != 1 or part.op not in ("=", "IN"):
            continue
        definition = part.path.definition
        if definition.name not in indexed:
            continue
        values = part.value if part.op == "IN" else [part.value]
        if values and all(isinstance(v, str) for v in values):
            return definition.name, list(values)
    return None
