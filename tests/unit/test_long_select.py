"""LongSelect draws exactly what wtforms' Select draws, from its memo of the options."""
from flask import Flask
from hypothesis import given, strategies as st
from wtforms import Form, SelectField
from wtforms.widgets import Select

from portal.web.forms import LongSelect

labels = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


class _Form(Form):
    plain = SelectField("Plain", coerce=int, validate_choice=False)
    long = SelectField("Long", coerce=int, validate_choice=False, widget=LongSelect())


def _drawn(choices, chosen):
    form = _Form(data={"plain": chosen, "long": chosen})
    form.plain.choices = form.long.choices = choices
    # Same markup but for the field's name and id.
    return str(form.plain()).replace("plain", "FIELD"), str(form.long()).replace("long", "FIELD")


@given(st.lists(labels, max_size=30), st.integers(min_value=0, max_value=35))
def test_long_select_draws_what_select_draws(names, chosen):
    choices = [(i, name) for i, name in enumerate(names)]
    plain, long = _drawn(choices, chosen)
    assert long == plain


def test_the_chosen_option_follows_the_data_though_the_options_are_remembered():
    choices = [(1, "Acme <Resale>"), (2, "Beta & Co")]
    assert 'selected value="2"' not in _drawn(choices, 1)[1]
    assert 'selected value="1"' in _drawn(choices, 1)[1]
    assert 'selected value="2"' in _drawn(choices, 2)[1]
    assert "Acme &lt;Resale&gt;" in _drawn(choices, 2)[1]


def test_choices_with_their_own_attributes_are_drawn_by_select():
    form = _Form(data={"plain": 1, "long": 1})
    form.long.choices = [(1, "One", {"disabled": True}), (2, "Two", {})]
    form.plain.choices = form.long.choices
    assert str(form.long()).replace("long", "x") == str(Select()(form.plain)).replace("plain", "x")
    assert "disabled" in str(form.long())
