"""Forms for organizer accounts and campaign teams."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ..i18n import LANGUAGES
from .passwords import MAX_LENGTH, MIN_LENGTH, password_problem
from .teams import INVITE_ROLES, ROLE_LABELS, ROLES


def _strip(value):
    return value.strip() if isinstance(value, str) else value


_EMAIL = [DataRequired(_l("Enter your email.")), Email(_l("Enter a valid email address.")),
          Length(max=254, message=_l("Use at most 254 characters."))]


class NewPassword:
    """Applies the password policy, against the email and name fields on the same form when present."""

    def __call__(self, form, field):
        email = form.email.data if "email" in form._fields else getattr(form, "account_email", "")
        name = form.name.data if "name" in form._fields else getattr(form, "account_name", "")
        problem = password_problem(field.data or "", email=email or "", name=name or "")
        if problem:
            raise ValidationError(problem)


def _new_password_field(label) -> PasswordField:
    return PasswordField(label, validators=[DataRequired(_l("Choose a password.")), NewPassword()],
                         render_kw={"autocomplete": "new-password", "minlength": MIN_LENGTH})


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=_EMAIL, filters=[_strip], render_kw={"autocomplete": "email"})
    password = PasswordField(_l("Password"), render_kw={"autocomplete": "current-password"},
                             validators=[DataRequired(_l("Enter your password.")),
                                         Length(max=MAX_LENGTH, message=_l("That password is too long."))])
    remember = BooleanField(_l("Keep me logged in on this device"))


class SignupForm(FlaskForm):
    name = StringField(_l("Your name"), filters=[_strip], render_kw={"autocomplete": "name"}, validators=[
        DataRequired(_l("Enter your name.")), Length(max=120, message=_l("Use at most 120 characters."))])
    email = EmailField(_l("Email"), validators=_EMAIL, filters=[_strip], render_kw={"autocomplete": "email"})
    password = _new_password_field(_l("Password"))
    campaign_name = StringField(_l("Campaign name"), filters=[_strip], validators=[
        DataRequired(_l("Name your campaign.")), Length(max=120, message=_l("Use at most 120 characters."))])

    def joining_by_invite(self) -> None:
        """People who sign up from an invite join that campaign and need not name their own."""
        self.campaign_name.validators = [Optional(), Length(max=120, message=_l("Use at most 120 characters."))]
        self.campaign_name.flags.required = False


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=_EMAIL, filters=[_strip], render_kw={"autocomplete": "email"})


class ResetPasswordForm(FlaskForm):
    password = _new_password_field(_l("New password"))

    def for_account(self, email: str, name: str) -> "ResetPasswordForm":
        """Remember whose password this is, so it cannot be their own email or name."""
        self.account_email, self.account_name = email, name
        return self


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), render_kw={"autocomplete": "current-password"}, validators=[
        DataRequired(_l("Enter your current password.")), Length(max=MAX_LENGTH, message=_l("That password is too long."))])
    password = _new_password_field(_l("New password"))

    for_account = ResetPasswordForm.for_account


class CampaignForm(FlaskForm):
    name = StringField(_l("Campaign name"), filters=[_strip], validators=[DataRequired(_l("Name your campaign.")),
                                                    Length(max=120, message=_l("Use at most 120 characters."))])


class CampaignSettingsForm(FlaskForm):
    contact_email = EmailField(_l("Contact email"), filters=[_strip], render_kw={"autocomplete": "off"}, validators=[
        Optional(), Email(_l("Enter a valid email address.")), Length(max=254, message=_l("Use at most 254 characters."))],
        description=_l("Supporters' replies to tickets, reminders and messages go here."))
    default_locale = SelectField(_l("Supporters' default language"),
                                 choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
                                 description=_l("For supporters who have not chosen a language."))


class InviteForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_LABELS[r]) for r in INVITE_ROLES], default=INVITE_ROLES[0])
    email = EmailField(_l("Email (optional)"), filters=[_strip], render_kw={"autocomplete": "off"}, validators=[
        Optional(), Email(_l("Enter a valid email address.")), Length(max=254, message=_l("Use at most 254 characters."))])
    send_email = BooleanField(_l("Email the link to this address"), default=True)


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[SelectChoice(r, r.capitalize()) for r in ROLES])


PASSWORD_HINT = _l("At least %(min)s characters. Not a common password, your name or your email.", min=MIN_LENGTH)
