"""Forms of the report pages: save a view, export a report state."""
from __future__ import annotations

from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from portal.web.forms import Form


class SavedViewForm(Form):
    name = StringField("Name", validators=[DataRequired("Give the view a name."), Length(max=120)])
    sharing = SelectField("Who sees it")
    pin = BooleanField("Pin it in my navigation")
    query = HiddenField()


class ExportForm(Form):
    format = SelectField("Format", choices=[("csv", "CSV"), ("xlsx", "Excel")])
    query = HiddenField()


class PinForm(Form):
    pin = HiddenField()
