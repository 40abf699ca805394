"""Login with the password, plus the authenticator code for people who enrolled a second factor (django-otp)."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 8


class LoginForm(OTPAuthenticationFormMixin, AuthenticationForm):
    """User name and password; the authenticator (or a recovery) code only for people who enrolled one."""

    otp_device = forms.CharField(required=False, widget=forms.HiddenInput)
    otp_token = forms.CharField(required=False, max_length=16)
    otp_challenge = forms.CharField(required=False)
    otp_error_messages = dict(
        OTPAuthenticationFormMixin.otp_error_messages,
        token_required="Enter the code of your authenticator app (or a recovery code) as well.",
        invalid_token="The authenticator code is wrong or expired; enter the current one.",
    )

    def _verify_token(self, user: Any, token: str, device: Any = None) -> Any:
        """Check the code against the one device it can be for: digits → the authenticator, else a recovery code."""
        if device is None:
            code = token.strip().replace(" ", "")
            model = TOTPDevice if code.isdigit() else StaticDevice
            device = model.objects.filter(user=user, confirmed=True).first()
            if device is None:
                raise forms.ValidationError(self.otp_error_messages["invalid_token"], code="invalid_token")
            token = code
        return super()._verify_token(user, token, device)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user = self.get_user()
        if user is not None and user_has_device(user, confirmed=True):
            self.clean_otp(user)
        return cleaned


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    form_class = LoginForm

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        device = getattr(form.get_user(), "otp_device", None)
        if device is not None:
            otp_login(self.request, device)
        return response


def _qr_svg(uri: str) -> str:
    import segno

    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff"))


def otp_setup(request: HttpRequest) -> HttpResponse:
    """Enrol (scan the QR or type the URI, confirm a code, get recovery codes once) or turn off the second factor."""
    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    context: dict[str, Any] = {"enabled": confirmed is not None, "error": ""}
    if request.method == "POST":
        action = request.POST.get("action", "")
        code = request.POST.get("code", "").strip().replace(" ", "")
        if action == "confirm":
            pending = TOTPDevice.objects.filter(user=user, confirmed=False).first()
            if pending is not None and code and pending.verify_token(code):
                pending.confirmed = True
                pending.save()
                static, _ = StaticDevice.objects.get_or_create(user=user, name="Recovery codes")
                static.token_set.all().delete()
                codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
                for value in codes:
                    static.token_set.create(token=value)
                otp_login(request, pending)
                response = render(request, "web/otp_setup.html", {"enabled": True, "recovery_codes": codes})
                response["Cache-Control"] = "no-store"
                return response
            context["error"] = "That code is not the current one of your authenticator app; try the next one."
        elif action == "disable" and confirmed is not None:
            if code and (confirmed.verify_token(code) or _use_recovery_code(user, code)):
                TOTPDevice.objects.filter(user=user).delete()
                StaticDevice.objects.filter(user=user).delete()
                return redirect("web:otp_setup")
            context["error"] = "Enter a current authenticator code (or a recovery code) to turn two-factor off."
    if confirmed is None:
        pending = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if pending is None:
            pending = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
        context["config_url"] = pending.config_url
        context["qr_svg"] = _qr_svg(pending.config_url)
    response = render(request, "web/otp_setup.html", context, status=400 if context["error"] else 200)
    response["Cache-Control"] = "no-store"
    return response


def _use_recovery_code(user: Any, code: str) -> bool:
    token = StaticToken.objects.filter(device__user=user, token=code).first()
    if token is None:
        return False
    token.delete()
    return True
