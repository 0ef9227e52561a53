import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from outages.features import Feature
from portal.models import Delivery


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

    def latest_change(self) -> "WindowChange | None":
        """The last move, extension or cancellation; uses `changes` when prefetched."""
        changes = list(self.changes.all())
        return max(changes, key=lambda change: change.revision) if changes else None


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

    def state_at(self, moment: datetime.datetime | None = None) -> MaintenanceWindow.State:
        """The interruption's own state; a cancelled window cancels all of its interruptions."""
        return window_state(self.starts_at, self.ends_at, self.window.cancelled_at, moment)


class WindowChange(models.Model):
    """What staff changed on a window (old → new), told to the people already notified."""

    class Kind(models.TextChoices):
        MOVED = "moved", _("Moved")
        EXTENDED = "extended", _("Extended")
        SHORTENED = "shortened", _("Shortened")
        CANCELLED = "cancelled", _("Cancelled")

    window = models.ForeignKey(
        MaintenanceWindow,
        on_delete=models.CASCADE,
        related_name="changes",
        verbose_name=_("maintenance window"),
    )
    revision = models.PositiveIntegerField(_("revision"))
    old_starts_at = models.DateTimeField(_("starts (before)"))
    old_ends_at = models.DateTimeField(_("ends (before)"))
    new_starts_at = models.DateTimeField(_("starts (after)"))
    new_ends_at = models.DateTimeField(_("ends (after)"))
    cancelled = models.BooleanField(_("cancelled"), default=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed"), auto_now_add=True)

    class Meta:
        verbose_name = _("window change")
        verbose_name_plural = _("window changes")
        ordering = ["window", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["window", "revision"], name="one_change_per_revision")
        ]

    def __str__(self) -> str:
        return f"{self.window_id} r{self.revision}: {self.kind}"

    @property
    def kind(self) -> "WindowChange.Kind":
        return change_kind(
            old=(self.old_starts_at, self.old_ends_at),
            new=(self.new_starts_at, self.new_ends_at),
            cancelled=self.cancelled,
        )


Times = tuple[datetime.datetime, datetime.datetime]


def change_kind(*, old: Times, new: Times, cancelled: bool) -> WindowChange.Kind:
    """How a schedule changed, as the status page and the change notice name it."""
    if cancelled:
        return WindowChange.Kind.CANCELLED
    if new[0] == old[0] and new[1] > old[1]:
        return WindowChange.Kind.EXTENDED
    if new[0] == old[0] and new[1] < old[1]:
        return WindowChange.Kind.SHORTENED
    return WindowChange.Kind.MOVED


class MaintenanceNotice(models.Model):
    """Who was told which revision of a window: one row per (window, user, revision).

    The e-mail is its outbox delivery ("outages.notice" or "outages.change"), which holds the
    sending state; a person counts as told once it is SENT (or UNKNOWN: it may have gone).
    """

    class Kind(models.TextChoices):
        NOTICE = "notice", _("Two-day notice")
        CHANGE = "change", _("Change notice")

    window = models.ForeignKey(
        MaintenanceWindow,
        on_delete=models.CASCADE,
        related_name="notices",
        verbose_name=_("maintenance window"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    revision = models.PositiveIntegerField(_("revision"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.NOTICE)
    # PROTECT: deleting the delivery would make the person untold, and the job tell them again.
    delivery = models.OneToOneField(
        Delivery, on_delete=models.PROTECT, related_name="+", verbose_name=_("e-mail delivery")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("maintenance notice")
        verbose_name_plural = _("maintenance notices")
        constraints = [
            models.UniqueConstraint(
                fields=["window", "user", "revision"], name="one_notice_per_window_user_revision"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} r{self.revision} → {self.user_id}"


class PostponedTask(models.Model):
    """A Celery task that met a closed capability; beat re-enqueues it when the window ends.

    Kept in the database rather than as a broker ETA: Redis redelivers long-ETA messages after
    its visibility timeout, and a database row survives a broker restart.
    """

    task_name = models.CharField(_("task"), max_length=200)
    kwargs = models.JSONField(_("arguments"), default=dict)
    feature = models.CharField(_("capability"), max_length=40, choices=Feature.choices)
    run_after = models.DateTimeField(_("run after"), db_index=True)
    created_at = models.DateTimeField(_("postponed"), auto_now_add=True)

    class Meta:
        verbose_name = _("postponed task")
        verbose_name_plural = _("postponed tasks")
        ordering = ["run_after", "pk"]

    def __str__(self) -> str:
        return f"{self.task_name} after {self.run_after:%Y-%m-%d %H:%M}"
