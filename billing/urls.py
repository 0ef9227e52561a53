from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("payment-methods/", views.methods, name="methods"),
    path("payment-methods/add/", views.add_card, name="add_card"),
    path("payment-methods/<int:method_id>/default/", views.make_default, name="make_default"),
    path("payment-methods/<int:method_id>/remove/", views.remove_method, name="remove_method"),
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/<int:invoice_id>/", views.invoice, name="invoice"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:invoice_id>/csv/", views.invoice_csv, name="invoice_csv"),
    path("invoices/<int:invoice_id>/pay/", views.pay, name="pay"),
    path("statements/", views.statements, name="statements"),
    path("statements/<int:statement_id>/", views.statement, name="statement"),
    path("statements/<int:statement_id>/pdf/", views.statement_pdf, name="statement_pdf"),
    path("statements/<int:statement_id>/csv/", views.statement_csv, name="statement_csv"),
]
