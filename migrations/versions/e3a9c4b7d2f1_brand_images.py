"""brand images: the uploaded logo and its favicon, replacing the logo_url setting

Revision ID: e3a9c4b7d2f1
Revises: b7e41c2d9a05
Create Date: 2026-12-02 06:10:00

"""
import hashlib
import logging
import os
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa
from flask import current_app

import portal.models.types


# revision identifiers, used by Alembic.
revision = 'e3a9c4b7d2f1'
down_revision = 'b7e41c2d9a05'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade():
    brand_images = op.create_table('brand_images',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', portal.models.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    _move_logo_url(brand_images)


def _move_logo_url(brand_images):
    """The old setting named a file of this site (/static/...): that file becomes the uploaded logo,
    checked as an upload is. A path the portal cannot read (served by a proxy) is dropped, with a note."""
    bind = op.get_bind()
    settings = sa.table('settings', sa.column('key', sa.String), sa.column('value', sa.JSON))
    value = bind.execute(sa.select(settings.c.value).where(settings.c.key == 'branding')).scalar()
    if not value or "logo_url" not in value:
        return
    value = dict(value)
    path = (value.pop("logo_url") or "").strip()
    bind.execute(settings.update().where(settings.c.key == 'branding').values(value=value))
    if not path:
        return
    from portal.errors import DomainError
    from portal.services import logos
    static = os.path.realpath(current_app.static_folder)
    file = os.path.realpath(os.path.join(static, path.removeprefix("/static/"))) if path.startswith("/static/") else None
    try:
        if file is None or not file.startswith(static + os.sep):
            raise DomainError("not a file of this site")
        with open(file, "rb") as handle:
            logo = logos.read(handle.read())
    except (OSError, DomainError) as err:
        log.warning("The branding's logo %s was not moved into the database (%s): upload it on the "
                    "public referral page settings.", path, getattr(err, "message", err))
        return
    now = datetime.now(timezone.utc)
    op.bulk_insert(brand_images, [
        {"name": name, "content": picture.content, "content_type": picture.content_type,
         "sha256": hashlib.sha256(picture.content).hexdigest(), "width": picture.width,
         "height": picture.height, "uploaded_at": now}
        for name, picture in (("logo", logo.logo), ("favicon", logo.favicon))])


def downgrade():
    op.drop_table('brand_images')
