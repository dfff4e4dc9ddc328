"""rallies/forms/widgets.py renders exactly what wtforms' own widgets render."""

import pytest
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import Form, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms import widgets as wt
from wtforms.fields.choices import SelectChoice

from rallies.forms import widgets
from rallies.forms.rallies import ListFilterForm, NearForm

TRICKY = ['plain', 'a "quoted" <b>&amp;</b>', "it's", Markup('<i class="x">safe</i>'), Markup("a&amp;b"), 0, 1.5, ""]


@pytest.mark.parametrize("value", TRICKY)
def test_html_params_matches_wtforms(value):
    kwargs = {"value": value, "class_": "c", "data_some_thing": value, "aria_described_by": "x y",
              "required": True, "disabled": False, "for": "q", "min": 1}
    assert widgets.html_params(**kwargs) == wt.html_params(**kwargs)
    assert widgets.html_params() == wt.html_params()


class _Sample(Form):
    text = StringField(render_kw={"placeholder": 'e.g. "Austin"', "autocomplete": "postal-code"})
    number = IntegerField(default=25)
    pick = SelectField(choices=[SelectChoice("mi", "miles"), SelectChoice("km", 'k<m>"'),
                                SelectChoice("x", "", render_kw={"data-x": "1"})], default="km")
    flag = SelectField(choices=[SelectChoice(True, "yes"), SelectChoice(False, "no")], coerce=bool)
    grouped = SelectField(choices=[SelectChoice("a", "a", optgroup="A"), SelectChoice("b", "b", optgroup="B")])
    many = SelectMultipleField(choices=[SelectChoice("a", "A"), SelectChoice("b", "B")])


@pytest.mark.parametrize("data", [{}, {"text": '<script>"x"</script>', "number": "7", "pick": "x", "flag": "True"},
                                  {"text": "Austin, TX", "number": "abc", "grouped": "b", "many": ["a", "b"]}])
def test_widgets_render_like_wtforms(data):
    form = _Sample(MultiDict(data))
    form.validate()
    extra = {"aria-invalid": "false", "aria-describedby": "q-error", "min": 1, "max": 500}
    pairs = [(form.text, wt.TextInput(), widgets.TextInput()), (form.number, wt.NumberInput(), widgets.NumberInput())]
    pairs += [(f, wt.Select(), widgets.Select()) for f in (form.pick, form.flag, form.grouped)]
    pairs.append((form.many, wt.Select(multiple=True), widgets.Select(multiple=True)))
    for field, theirs, ours in pairs:
        assert ours(field) == theirs(field)
        assert ours(field, **extra) == theirs(field, **extra)
        assert isinstance(ours(field), Markup)


def test_search_forms_use_them(app):
    with app.test_request_context("/near?q=78701&radius=25&unit=km"):
        form = NearForm(MultiDict({"q": "78701", "radius": "25", "unit": "km"}))
        assert form.q() == wt.TextInput()(form.q, **form.q.render_kw)
        assert form.radius(min=1, max=500) == wt.NumberInput()(form.radius, min=1, max=500)
        assert form.unit() == wt.Select()(form.unit) and 'selected value="km"' in form.unit()
        lists = ListFilterForm(MultiDict({"state": "TX", "city": "Austin"}))
        assert lists.city() == wt.TextInput()(lists.city)
