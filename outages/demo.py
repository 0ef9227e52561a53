# ruff: noqa: RUF001 - French typography uses the typographic apostrophe, as the source page
"""The source page's whole table as a demo window, on the same dates next year (idempotent).

French text from the source page (its scanning errors corrected), English translated from it;
each row names the portal capabilities it would turn off ([] for services outside the portal).
"""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from outages.features import Feature as F
from outages.models import Interruption, MaintenanceWindow
from portal.formatting import EASTERN

TITLE_EN = "System upgrade: services and applications unavailable"
TITLE_FR = "Mise à niveau du système : services et applications non accessibles"
SUMMARY_EN = (
    "Because of a system upgrade, some Canada Post services and applications will not be "
    "available from June 22 at midnight (ET) to July 2 at 7 a.m. (ET). See below for details."
)
SUMMARY_FR = (
    "En raison de la mise à niveau du système, certains services et applications de Postes "
    "Canada ne seront pas accessibles du 22 juin à minuit (HE) au 2 juillet à 7 h (HE). "
    "Voir plus bas pour tous les détails."
)
UNAVAILABLE_FR = "Cette application n’est pas disponible."
UNAVAILABLE_EN = "This application is not available."

# (month, day, hour, minute) in Eastern Time
Moment = tuple[int, int, int, int]
JUN22_2359: Moment = (6, 22, 23, 59)
JUN25_20: Moment = (6, 25, 20, 0)
JUN25_22: Moment = (6, 25, 22, 0)
JUN25_2359: Moment = (6, 25, 23, 59)
JUN30_18: Moment = (6, 30, 18, 0)
JUL02_07: Moment = (7, 2, 7, 0)
ALL, WRITES = Interruption.Scope.ALL, Interruption.Scope.WRITES


@dataclass(frozen=True)
class Row:
    application_fr: str
    application_en: str
    description_fr: str
    description_en: str
    starts: Moment
    ends: Moment
    features: tuple[str, ...] = ()
    scope: str = ALL


ROWS = [
    Row(
        "Boutique en ligne",
        "Online shop",
        "La boutique n’est pas accessible.",
        "The shop is not available.",
        JUN22_2359,
        JUL02_07,
    ),
    Row(
        "Inscription",
        "Registration",
        "Il n’est pas possible de créer de nouveaux comptes ou profils. La clientèle ayant déjà "
        "un compte peut toujours ouvrir une session, mais les fonctionnalités sont limitées.",
        "New accounts and profiles cannot be created. Customers who already have an account "
        "can still sign in, with limited features.",
        JUN25_20,
        JUL02_07,
        (F.REGISTRATION,),
    ),
    Row(
        "Paramètres d’entreprise",
        "Business settings",
        "Les entreprises clientes ne peuvent pas modifier leur profil, lier ou supprimer une "
        "entreprise de leur profil, gérer leur carte de crédit, gérer les utilisateurs "
        "(administrateur délégué), changer le nom de l’entreprise (Solutions pour petites "
        "entreprises), soumettre un formulaire de demande de modification pour clients "
        "commerciaux, ni utiliser la fonction de mot de passe ou de nom d’utilisateur oublié.",
        "Business customers cannot change their profile, link a business to their profile or "
        "remove one, manage their credit card, manage users (delegated administrator), change "
        "the business name (Solutions for Small Business), submit a change request form for "
        "commercial customers, or use the forgotten password or username feature.",
        JUN25_20,
        JUL02_07,
        (
            F.PROFILE_CHANGES,
            F.ACCOUNT_LINKING,
            F.LINK_REMOVAL,
            F.PAYMENT_METHODS,
            F.DELEGATED_USERS,
            F.PASSWORD_RECOVERY,
        ),
    ),
    Row(
        "Portail des partenaires Marketing Intelliposte",
        "Smartmail Marketing partner portal",
        "Le portail des partenaires n’est pas disponible et les partenaires ne peuvent pas créer "
        "de nouveaux comptes du programme Solutions pour petites entreprises.",
        "The partner portal is not available and partners cannot create new Solutions for "
        "Small Business accounts.",
        JUN25_20,
        JUL02_07,
    ),
    Row(
        "Trouver un tarif — mobile",
        "Find a rate — mobile",
        UNAVAILABLE_FR,
        UNAVAILABLE_EN,
        JUN25_20,
        JUL02_07,
    ),
    Row(
        "Repérer un colis — mobile",
        "Track a parcel — mobile",
        UNAVAILABLE_FR,
        UNAVAILABLE_EN,
        JUN25_20,
        JUL02_07,
    ),
    Row(
        "Facturation et paiements",
        "Billing and payments",
        "La clientèle peut toujours consulter et télécharger ses factures, mais ne peut pas "
        "payer en ligne.",
        "Customers can still view and download their invoices, but cannot pay online.",
        JUN25_22,
        JUN30_18,
        (F.INVOICES, F.ONLINE_PAYMENT),
        WRITES,
    ),
    Row(
        "Centre d’affaires en ligne (CAL)",
        "Online Business Centre (OBC)",
        "La clientèle peut ouvrir une session dans le Centre d’affaires en ligne avec des "
        "fonctionnalités limitées. Après le 2 juillet, les personnes qui ouvrent une session dans "
        "le CAL pour consulter et payer leurs factures seront redirigées vers la section "
        "Facturation et paiement de leur profil d’entreprise en ligne.",
        "Customers can sign in to the Online Business Centre with limited features. After "
        "July 2, people who sign in to the OBC to view and pay their invoices will be sent to "
        "the Billing and payment section of their online business profile.",
        JUN25_2359,
        JUL02_07,
    ),
    Row(
        "Annulation d’étiquettes ou de DD",
        "Voiding labels or manifests",
        "Les étiquettes de colis et les déclarations de dépôt ne peuvent pas être annulées en "
        "ligne.",
        "Parcel labels and manifests cannot be voided online.",
        JUN25_2359,
        JUL02_07,
        (F.RETURN_LABELS,),
        WRITES,
    ),
    Row(
        "Réacheminement et retenue du courrier — en ligne",
        "Mail Forwarding and Hold Mail — online",
        "Les demandes ne peuvent pas être créées ni soumises en ligne.",
        "Requests cannot be created or submitted online.",
        JUN25_2359,
        JUL02_07,
    ),
    Row(
        "Ramassage de colis",
        "Parcel pickup",
        "Il n’est pas possible de créer une commande de ramassage périodique ou d’annuler une "
        "commande existante, mais elle peut être modifiée. Les commandes de ramassage sur "
        "demande ne peuvent être créées qu’avec une carte de crédit enregistrée avant le 24 juin "
        "et elles peuvent être modifiées ou annulées. Les ramassages demandés avant 23 h 59 le "
        "25 juin se poursuivront.",
        "Recurring pickup orders cannot be created and existing ones cannot be cancelled, but "
        "they can be changed. On-demand pickups can only be ordered with a credit card saved "
        "before June 24, and they can be changed or cancelled. Pickups requested before "
        "11:59 p.m. on June 25 will go ahead.",
        JUN25_2359,
        JUN30_18,
    ),
    Row(
        "Rediriger un colis",
        "Redirect a parcel",
        "Les services de redirection de colis ne sont pas offerts.",
        "Parcel redirection services are not offered.",
        JUN25_2359,
        JUL02_07,
    ),
    Row(
        "Ouvrir une session",
        "Sign-in",
        "Les entreprises clientes ne peuvent pas ouvrir une session dans leurs comptes en ligne.",
        "Business customers cannot sign in to their online accounts.",
        JUN30_18,
        JUL02_07,
        (F.SIGN_IN,),
    ),
    Row(
        "Correspondance-réponse d’affaires",
        "Business Reply Mail",
        "L’accès à l’outil Maquettes Correspondance-réponse d’affaires et aux rapports ne sera "
        "pas disponible.",
        "The Business Reply Mail artwork tool and its reports will not be available.",
        JUN30_18,
        JUL02_07,
    ),
    *(
        Row(fr, en, UNAVAILABLE_FR, UNAVAILABLE_EN, JUN30_18, JUL02_07)
        for fr, en in [
            ("Cibleur précis", "Precision Targeter"),
            ("Trouver un tarif — en ligne", "Find a rate — online"),
            ("OEE en ligne / OEE 2.0", "EST online / EST 2.0"),
            ("Colis clic", "Snap Ship"),
            ("Expédition en ligne", "Ship online"),
            ("Gestion des envois", "Shipment management"),
            ("CyberVente", "Online Sales"),
            ("Ramassage de colis", "Parcel pickup"),
        ]
    ),
    Row(
        "Facturation et paiements",
        "Billing and payments",
        UNAVAILABLE_FR,
        UNAVAILABLE_EN,
        JUN30_18,
        JUL02_07,
        (F.INVOICES, F.ONLINE_PAYMENT),
    ),
    Row(
        "Repérage de colis — en ligne",
        "Parcel tracking — online",
        "Il est toujours possible de faire le suivi des colis, mais pas de s’inscrire aux avis "
        "électroniques.",
        "Parcels can still be tracked, but e-mail notifications cannot be requested.",
        JUN30_18,
        JUL02_07,
    ),
    Row(
        "Repérage — Intelligence 360",
        "Tracking — Intelligence 360",
        "La clientèle commerciale ne sera pas en mesure de faire le suivi des envois de colis ni "
        "d’en obtenir les rapports.",
        "Commercial customers will not be able to track parcel shipments or get their reports.",
        JUN30_18,
        JUL02_07,
        (F.RETURNS_REPORTS, F.TRACKING_INGESTION),
    ),
    Row(
        "Retour de colis",
        "Parcel returns",
        "Il n’est pas possible de créer, modifier ou annuler un retour de colis. Il n’est pas "
        "possible de demander des étiquettes de retour.",
        "Parcel returns cannot be created, changed or cancelled. Return labels cannot be "
        "requested.",
        JUN30_18,
        JUL02_07,
        (F.RETURN_POLICIES, F.RETURN_LABELS),
        WRITES,
    ),
    Row(
        "Réacheminement et retenue du courrier — en personne",
        "Mail Forwarding and Hold Mail — in person",
        "Les demandes ne peuvent pas être créées ni soumises en personne à un comptoir postal.",
        "Requests cannot be created or submitted in person at a post office counter.",
        JUN30_18,
        JUL02_07,
    ),
    Row(
        "Programme pour développeurs",
        "Developer Program",
        "Le Programme pour développeurs n’est pas disponible.",
        "The Developer Program is not available.",
        JUN30_18,
        JUL02_07,
        (F.DEVELOPER_API,),
    ),
]


def eastern(year: int, moment: Moment) -> datetime.datetime:
    month, day, hour, minute = moment
    return datetime.datetime(year, month, day, hour, minute, tzinfo=EASTERN)


def load_demo_window(*, year: int | None = None) -> tuple[MaintenanceWindow, bool]:
    """The demo window of `year` (next year by default); returns it and whether it was made.

    Running it again leaves an existing window as staff may have edited it.
    """
    year = year or timezone.localdate().year + 1
    starts_at, ends_at = eastern(year, JUN22_2359), eastern(year, JUL02_07)
    with transaction.atomic():
        window, created = MaintenanceWindow.objects.get_or_create(
            title_en=TITLE_EN,
            starts_at__year=year,
            defaults={
                "title_fr": TITLE_FR,
                "summary_en": SUMMARY_EN,
                "summary_fr": SUMMARY_FR,
                "starts_at": starts_at,
                "ends_at": ends_at,
            },
        )
        if created:
            Interruption.objects.bulk_create(_interruption(window, row, year) for row in ROWS)
    return window, created


def _interruption(window: MaintenanceWindow, row: Row, year: int) -> Interruption:
    return Interruption(
        window=window,
        application_en=row.application_en,
        application_fr=row.application_fr,
        description_en=row.description_en,
        description_fr=row.description_fr,
        starts_at=eastern(year, row.starts),
        ends_at=eastern(year, row.ends),
        features=[str(code) for code in row.features],
        scope=row.scope,
    )
