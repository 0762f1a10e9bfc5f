"""Saved report views: private, shared with the owner's organization, or (internal) with every
internal user; pinned per user into the navigation. Another organization's view does not exist (404)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_

from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import SavedView, SavedViewPin, Sharing, User
from portal.services import read_cache
from portal.services.reporting.fields import ENTITIES
from portal.services.reporting.query import ReportState


def sharing_choices(user: User) -> list[tuple[str, str]]:
    if user.is_internal:
        return [(Sharing.PRIVATE.value, "Only me"), (Sharing.INTERNAL.value, "All internal users")]
    return [(Sharing.PRIVATE.value, "Only me"), (Sharing.ORGANIZATION.value, f"Everyone at {user.organization.name}")]


def visible_views(user: User):
    """A select of the views `user` may open: their own, their organization's shared ones, and for
    internal users those shared with all internal users."""
    shared = [SavedView.owner_id == user.id,
              (SavedView.organization_id == user.organization_id) & (SavedView.sharing == Sharing.ORGANIZATION.value)]
    if user.is_internal:
        shared.append(SavedView.sharing == Sharing.INTERNAL.value)
    return db.select(SavedView).where(or_(*shared))


def list_for(user: User, entity: str | None = None) -> list[SavedView]:
    query = visible_views(user).order_by(SavedView.name, SavedView.id)
    if entity:
        query = query.where(SavedView.entity == entity)
    return list(db.session.scalars(query))


def view_for(user: User, view_id: int) -> SavedView:
    """A view `user` may open. Raises NotFound for anyone else's."""
    view = db.session.scalar(visible_views(user).where(SavedView.id == view_id))
    if view is None:
        raise NotFound()
    return view


def own_view_for(user: User, view_id: int) -> SavedView:
    """A view `user` may change: only its owner. Raises NotFound otherwise."""
    view = view_for(user, view_id)
    if view.owner_id != user.id:
        raise NotFound()
    return view


@dataclass(frozen=True)
class PinnedView:
    id: int
    name: str


def pinned(user: User) -> tuple[PinnedView, ...]:
    """The views `user` pinned and may still see, for the navigation (every page: cached per process
    behind the views' stamp; what a user may see depends on who they are, their organization and side)."""
    def load() -> tuple[PinnedView, ...]:
        visible = visible_views(user).with_only_columns(SavedView.id)
        return tuple(PinnedView(view_id, name) for view_id, name in db.session.execute(
            db.select(SavedView.id, SavedView.name).join(SavedViewPin, SavedViewPin.view_id == SavedView.id)
            .where(SavedViewPin.user_id == user.id, SavedView.id.in_(visible)).order_by(SavedView.name)))
    return read_cache.cached(read_cache.SAVED_VIEWS, f"pinned:{user.id}:{user.organization_id}:{user.is_internal}", load)


def is_pinned(user: User, view: SavedView) -> bool:
    return db.session.scalar(db.select(SavedViewPin.id).where(SavedViewPin.user_id == user.id,
                                                              SavedViewPin.view_id == view.id)) is not None


def save(user: User, *, entity: str, name: str, query: str, sharing: str, pin: bool = False,
         view: SavedView | None = None) -> SavedView:
    """Create a view from a report state, or (given `view`, which `user` owns) rename, reshare or
    replace its state. Raises DomainError for a missing name or a sharing the user may not choose."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the view a name.", field="name")
    if sharing not in {key for key, _ in sharing_choices(user)}:
        raise DomainError("Choose who may see this view.", field="sharing")
    if entity not in ENTITIES:
        raise DomainError("Unknown report.")
    if view is not None and view.owner_id != user.id:
        raise NotFound()
    view = view or SavedView(owner_id=user.id, organization_id=user.organization_id, entity=entity)
    # Stored canonical (and without the page), so the view opens on its first page.
    view.name, view.sharing = name[:120], sharing
    view.query = ReportState.from_query(entity, query).query_string(page=False)
    db.session.add(view)
    db.session.flush()
    _set_pin(user, view, pin)
    db.session.commit()
    return view


def delete(user: User, view: SavedView) -> None:
    """Delete a view `user` owns (its pins go with it)."""
    if view.owner_id != user.id:
        raise NotFound()
    db.session.execute(db.delete(SavedViewPin).where(SavedViewPin.view_id == view.id))
    db.session.delete(view)  # the flush of this delete gives the views' read-cache stamp a new value
    db.session.commit()


def set_pinned(user: User, view: SavedView, pin: bool) -> SavedView:
    """Pin a view `user` can see into their navigation, or unpin it."""
    _set_pin(user, view, pin)
    db.session.commit()
    return view


def _set_pin(user: User, view: SavedView, pin: bool) -> None:
    existing = db.session.scalar(db.select(SavedViewPin).where(SavedViewPin.user_id == user.id,
                                                               SavedViewPin.view_id == view.id))
    if pin and existing is None:
        db.session.add(SavedViewPin(user_id=user.id, view_id=view.id))
    elif not pin and existing is not None:
        db.session.delete(existing)


