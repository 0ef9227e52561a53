from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import BusinessAccount, Contact, Contract, User


class ContractInline(admin.TabularInline):
    model = Contract
    extra = 0


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(BusinessAccount)
class BusinessAccountAdmin(admin.ModelAdmin):
    list_display = ["customer_number", "legal_name", "kind", "city", "postal_code"]
    list_filter = ["kind", "province"]
    search_fields = ["customer_number", "legal_name", "postal_code", "contacts__email"]
    inlines = [ContractInline, ContactInline]


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ["number", "account", "kind", "status", "starts_on", "ends_on"]
    list_filter = ["kind", "status"]
    search_fields = ["number", "account__customer_number", "account__legal_name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "role", "language", "account"]
    list_filter = ["role", "language"]
    search_fields = ["name", "email", "account__customer_number", "account__legal_name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    list_display = [
        "email",
        "first_name",
        "last_name",
        "language",
        "is_staff",
        "is_active",
        "last_login",
    ]
    list_filter = ["is_staff", "is_active", "language"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (*(UserAdmin.fieldsets or ()), (_("Portal"), {"fields": ["language"]}))
