"""Forms of the ticket pages; writes still go through rmmbridge.tickets.actions."""

from __future__ import annotations

from typing import Any

from django import forms

from rmmbridge.servicedesk.models import Asset, Customer, EndUser, Site
from rmmbridge.tickets.choices import TicketPriority, TicketSource, TicketStatus
from rmmbridge.tickets.models import TicketType


class TicketFilterForm(forms.Form):
    """The list filters; every field is optional and bad values are reported, not ignored silently."""

    q = forms.CharField(required=False, label="Search", max_length=200,
                        widget=forms.TextInput(attrs={"placeholder": "Summary, alert key or #id", "type": "search"}))
    status = forms.ChoiceField(required=False, choices=[("", "Any open status"), ("all", "All"),
                                                         *TicketStatus.choices])
    customer = forms.ModelChoiceField(required=False, queryset=Customer.objects.only("id", "name"),
                                      empty_label="All customers")
    ticket_type = forms.ModelChoiceField(required=False, queryset=TicketType.objects.all(), empty_label="All types",
                                         label="Type")
    source = forms.ChoiceField(required=False, choices=[("", "All sources"), *TicketSource.choices])


class TicketCreateForm(forms.Form):
    """Manual ticket creation; site, user and assets are limited to the chosen customer."""

    customer = forms.ModelChoiceField(queryset=Customer.objects.filter(active=True), empty_label="Choose a customer")
    summary = forms.CharField(max_length=255)
    details = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    ticket_type = forms.ModelChoiceField(queryset=TicketType.objects.filter(active=True), label="Ticket type",
                                         empty_label="Choose a ticket type")
    priority = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                      choices=[("", "Ticket type's default"), *TicketPriority.choices])
    site = forms.ModelChoiceField(required=False, queryset=Site.objects.none(), empty_label="No site")
    end_user = forms.ModelChoiceField(required=False, queryset=EndUser.objects.none(), label="User",
                                      empty_label="No user")
    assets = forms.ModelMultipleChoiceField(required=False, queryset=Asset.objects.none(),
                                            widget=forms.SelectMultiple(attrs={"size": 6}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer_choice = self._chosen_customer()
        if self.customer_choice is not None:
            site_field = self.fields["site"]
            user_field = self.fields["end_user"]
            asset_field = self.fields["assets"]
            assert isinstance(site_field, forms.ModelChoiceField)
            assert isinstance(user_field, forms.ModelChoiceField)
            assert isinstance(asset_field, forms.ModelMultipleChoiceField)
            site_field.queryset = Site.objects.filter(customer=self.customer_choice, active=True)
            user_field.queryset = EndUser.objects.filter(customer=self.customer_choice, active=True)
            asset_field.queryset = Asset.objects.filter(customer=self.customer_choice, active=True).select_related(
                "asset_type"
            )
            if not self.is_bound:
                self.initial.setdefault("site", self.customer_choice.main_site)

    def _chosen_customer(self) -> Customer | None:
        raw = self.data.get("customer") if self.is_bound else self.initial.get("customer")
        if isinstance(raw, Customer):
            return raw
        if raw and str(raw).isdigit():
            return Customer.objects.filter(pk=int(raw)).first()
        return None


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}))


class CloseForm(forms.Form):
    note = forms.CharField(required=False, label="Closing note", widget=forms.Textarea(attrs={"rows": 2}))


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=TicketStatus.choices)
    note = forms.CharField(required=False)


class TicketTypeForm(forms.Form):
    name = forms.CharField(max_length=200)
    default_priority = forms.TypedChoiceField(coerce=int, choices=TicketPriority.choices,
                                              initial=TicketPriority.MEDIUM, label="Default priority")
