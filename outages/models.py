import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from outages.features import Feature


def _in_language(english: str, french: str) -> str:
    return french if (get_language() or "en").startswith("fr") and french else english


class MaintenanceWindow(models.Model):
    class State(models.TextChoices):
        UPCOMING = "upcoming", _("Upcoming")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    title_en = models.CharField(_("title (English)"), max_length=200)
    title_fr = models.CharField(_("title (French)"), max_length=200)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    summary_fr = models.TextField(_("summary (French)"), blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    # Incremented on every move, extension or cancellation, so each change is noticed once.
    revision = models.PositiveIntegerField(_("revision"), default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("maintenance window")
        verbose_name_plural = _("maintenance windows")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="window_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title_en

    @property
    def title(self) -> str:
        return _in_language(self.title_en, self.title_fr)

    @property
    def summary(self) -> str:
        return _in_language(self.summary_en, self.summary_fr)

    def state_at(self, moment: datetime.datetime | None = None) -> "MaintenanceWindow.State":
        return window_state(self.starts_at, self.ends_at, self.cancelled_at, moment)

    @property
    def state(self) -> "MaintenanceWindow.State":
        return self.state_at()


def window_state(
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    cancelled_at: datetime.datetime | None,
    moment: datetime.datetime | None = None,
) -> MaintenanceWindow.State:
    """Derived from the clock, never stored: a window cannot be left "in progress" by mistake."""
    moment = moment or timezone.now()
    if cancelled_at is not None:
        return MaintenanceWindow.State.CANCELLED
    if moment < starts_at:
        return MaintenanceWindow.State.UPCOMING
    if moment < ends_at:
        return MaintenanceWindow.State.IN_PROGRESS
    return MaintenanceWindow.State.COMPLETED


class Interruption(models.Model):
    class Scope(models.TextChoices):
        ALL = "all", _("Unavailable")
        WRITES = "writes", _("Read-only (changes unavailable)")

    window = models.ForeignKey(
        MaintenanceWindow,
        on_delete=models.CASCADE,
        related_name="interruptions",
        verbose_name=_("maintenance window"),
    )
    application_en = models.CharField(_("application (English)"), max_length=200)
    application_fr = models.CharField(_("application (French)"), max_length=200)
    description_en = models.TextField(_("what is unavailable (English)"))
    description_fr = models.TextField(_("what is unavailable (French)"))
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    features = models.JSONField(
        _("portal capabilities turned off"),
        default=list,
        blank=True,
        help_text=_("Portal capabilities this interruption turns off."),
    )
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.ALL)

    class Meta:
        verbose_name = _("interruption")
        verbose_name_plural = _("interruptions")
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="interruption_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.application_en

    @property
    def application(self) -> str:
        return _in_language(self.application_en, self.application_fr)

    @property
    def description(self) -> str:
        return _in_language(self.description_en, self.description_fr)

    def feature_labels(self) -> list[str]:
        return [str(Feature(code).label) for code in self.features if code in Feature.values]


class WindowChange(models.Model):
    """What staff changed on a window (old → new), told to the people already notified."""

    window = models.ForeignKey(MaintenanceWindow, on_delete=models.CASCADE, related_name="changes")
    revision = models.PositiveIntegerField()
    old_starts_at = models.DateTimeField()
    old_ends_at = models.DateTimeField()
    new_starts_at = models.DateTimeField()
    new_ends_at = models.DateTimeField()
    cancelled = models.BooleanField(default=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["window", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["window", "revision"], name="one_change_per_revision")
        ]


class MaintenanceNotice(models.Model):
    """One e-mail per (window, user, revision): the delivery row makes the send idempotent."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    window = models.ForeignKey(MaintenanceWindow, on_delete=models.CASCADE, related_name="notices")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    revision = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("maintenance notice")
        verbose_name_plural = _("maintenance notices")
        constraints = [
            models.UniqueConstraint(
                fields=["window", "user", "revision"], name="one_notice_per_window_user_revision"
            )
        ]


class PostponedTask(models.Model):
    """A Celery task that met a closed capability; beat re-enqueues it when the window ends.

    Kept in the database rather than as a broker ETA: Redis redelivers long-ETA messages after
    its visibility timeout, and a database row survives a broker restart.
    """

    task_name = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    feature = models.CharField(max_length=40, choices=Feature.choices)
    run_after = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_after", "pk"]

    def __str__(self) -> str:
        return f"{self.task_name} after {self.run_after:%Y-%m-%d %H:%M}"
