"""Integrator models: the schedule per integration, every job run, and database-row locks."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models

from rmmbridge.integrations.models import Integration
from rmmbridge.integrator import scheduling


class ScheduleState(models.TextChoices):
    OFF = "off", "Off"
    IDLE = "idle", "Idle"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"
    PAUSED = "paused", "Paused"


class IntegratorSchedule(models.Model):
    """When the integrator syncs and polls one integration (Halo's integrator settings)."""

    integration = models.OneToOneField(Integration, on_delete=models.CASCADE, related_name="integrator_schedule")
    enabled = models.BooleanField(default=False, help_text="Run scheduled syncs and alert polls.")
    sync_customers = models.BooleanField(default=True)
    sync_users = models.BooleanField(default=True)
    sync_assets = models.BooleanField(default=True)
    poll_alerts = models.BooleanField(default=True)
    customers_interval_minutes = models.PositiveIntegerField(default=24 * 60)
    users_interval_minutes = models.PositiveIntegerField(default=24 * 60)
    assets_interval_minutes = models.PositiveIntegerField(default=24 * 60)
    alerts_interval_minutes = models.PositiveIntegerField(default=5)
    deactivate_deleted_assets = models.BooleanField(
        default=True, help_text="Deactivate assets whose device was deleted in the RMM."
    )
    last_runs = models.JSONField(default=dict, blank=True, help_text="Entity → ISO time its last run started.")
    state = models.CharField(max_length=20, choices=ScheduleState.choices, default=ScheduleState.IDLE)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=20, blank=True)
    last_error = models.TextField(blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["integration__name"]

    def __str__(self) -> str:
        return f"Schedule of {self.integration}"

    def intervals(self) -> dict[str, timedelta]:
        """Interval per selected entity."""
        selected = {
            "customers": (self.sync_customers, self.customers_interval_minutes),
            "users": (self.sync_users, self.users_interval_minutes),
            "assets": (self.sync_assets, self.assets_interval_minutes),
            scheduling.ALERTS: (self.poll_alerts, self.alerts_interval_minutes),
        }
        return {name: timedelta(minutes=minutes) for name, (on, minutes) in selected.items() if on}

    def facts(self, *, alerting_enabled: bool = True) -> scheduling.ScheduleFacts:
        """The pure scheduling view of this schedule (alert polls only while alerting is on)."""
        intervals = self.intervals()
        if not alerting_enabled:
            intervals.pop(scheduling.ALERTS, None)
        return scheduling.ScheduleFacts(
            integration_id=self.integration_id,
            enabled=self.enabled,
            integration_enabled=self.integration.enabled,
            intervals=intervals,
        )

    def last_started(self, entity: str) -> datetime | None:
        """When `entity` last started, from `last_runs`."""
        value = self.last_runs.get(entity) if isinstance(self.last_runs, dict) else None
        return datetime.fromisoformat(value) if value else None


class JobKind(models.TextChoices):
    SYNC = "sync", "Sync"
    POLL = "poll", "Alert poll"
    OUTBOX = "outbox", "Resolve outbox"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    DEFERRED = "deferred", "Waiting to retry"
    RUNNING = "running", "Running"
    SUCCESS = "success", "Success"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


OPEN_STATUSES = (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.RUNNING)
DONE_STATUSES = (JobStatus.SUCCESS, JobStatus.PARTIAL, JobStatus.FAILED, JobStatus.SKIPPED)


class JobTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Manual"


class JobRun(models.Model):
    """One scheduled or manual job (sync, alert poll, outbox delivery) and each attempt at it."""

    kind = models.CharField(max_length=20, choices=JobKind.choices)
    integration = models.ForeignKey(
        Integration, null=True, blank=True, on_delete=models.CASCADE, related_name="job_runs"
    )
    entities = models.CharField(max_length=100, blank=True, help_text="Comma-separated entities of a sync.")
    trigger = models.CharField(max_length=20, choices=JobTrigger.choices, default=JobTrigger.SCHEDULE)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=4)
    not_before = models.DateTimeField(null=True, blank=True, help_text="Deferred jobs are enqueued again then.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    items = models.PositiveIntegerField(default=0, help_text="Records synced, alerts polled or resolves sent.")
    error = models.TextField(blank=True)
    error_key = models.CharField(max_length=50, blank=True)
    notes = models.TextField(blank=True, help_text="Attempt history: redeliveries, retries, lock waits.")
    details = models.JSONField(default=dict, blank=True, help_text="Items per entity and operation.")
    sync_run_id = models.BigIntegerField(null=True, blank=True, help_text="The SyncRun this job produced.")
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the last attempt.")
    options = models.JSONField(default=dict, blank=True, help_text=(
        "What a person asked for in the UI: dry_run (a preview), device_types, confirm, apply_run and rows (apply "
        "a stored preview), user_id and actor_label (who asked)."))
    progress = models.CharField(max_length=200, blank=True, help_text="What a running job is doing now.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "not_before"]),
            models.Index(fields=["integration", "kind", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def entity_list(self) -> list[str]:
        return [e for e in self.entities.split(",") if e]

    def add_note(self, text: str) -> None:
        """Append one line to the attempt history (caller saves)."""
        self.notes = (self.notes + "\n" if self.notes else "") + text


class IntegratorLock(models.Model):
    """A named lock held in the database (embedded mode): token, holder and expiry."""

    name = models.CharField(max_length=100, primary_key=True)
    token = models.CharField(max_length=64)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} until {self.expires_at:%H:%M:%S}"


class MetricCounter(models.Model):
    """A cumulative Prometheus counter shared by every process: name plus rendered labels → value."""

    name = models.CharField(max_length=100)
    labels = models.CharField(max_length=300, blank=True, help_text='Rendered labels, e.g. kind="sync".')
    value = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "labels"], name="metriccounter_unique")]

    def __str__(self) -> str:
        return f"{self.name}{{{self.labels}}} {self.value}"


class HealthProblem(models.Model):
    """One integration-health problem (see `health_rules`): when it opened and recovered, what the admins were told."""

    key = models.CharField(max_length=200, unique=True, help_text="Kind, integration and channel, e.g. "
                           "channel_broken:3:email.")
    kind = models.CharField(max_length=40)
    integration = models.ForeignKey(Integration, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="health_problems")
    channel = models.CharField(max_length=20, blank=True)
    title = models.CharField(max_length=300)
    evidence = models.TextField(blank=True)
    fix_url = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField()
    recovered_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    told = models.CharField(max_length=20, blank=True, help_text="What the admins were last told: problem or recovery.")
    notifications = models.PositiveIntegerField(default=0)
    last_notify_error = models.TextField(blank=True)

    class Meta:
        ordering = ["recovered_at", "-opened_at"]
        indexes = [models.Index(fields=["recovered_at"])]

    def __str__(self) -> str:
        return f"{self.key} ({'open' if self.recovered_at is None else 'recovered'})"

    @property
    def is_open(self) -> bool:
        return self.recovered_at is None


class ChannelExpectation(models.Model):
    """The longest silence expected of one push channel of one integration, set by hand (else it is learnt)."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="channel_expectations")
    channel = models.CharField(max_length=20, choices=[("email", "E-mail"), ("webhook", "Webhook")])
    expected_gap_minutes = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "channel"], name="channelexpectation_unique")]

    def __str__(self) -> str:
        return f"{self.integration} {self.channel}: {self.expected_gap_minutes} min"
