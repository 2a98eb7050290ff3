"""The Digital Transfer Forum: questions and answers across the member cities, and events.

Invariants:
- Forum content belongs to the cooperation: every staff member of every member city reads it,
  citizens and the public never do. A post records the author's city for context only.
- An accepted answer belongs to its topic; a hidden post stays stored (moderation is
  reversible) but only moderators see it; a locked topic takes no new answers.
- Bodies are Markdown; they are stored as typed and rendered without raw HTML.
- A draft (``published_at`` empty) is seen by its author only; it notifies nobody and is not searched.
- ``score`` is the sum of the votes (one per person and post), kept by ``actions.toggle_vote``.
- Every published text of a post is kept as a ``Revision`` (the first version and each edit).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dikom.municipalities.models import Municipality


class Category(models.Model):
    slug = models.SlugField(_("key"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("forum category")
        verbose_name_plural = _("forum categories")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A tag; ``competence_code`` links it to a competence of DigComp 2.2 (empty for free tags)."""

    slug = models.SlugField(_("key"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=120)
    competence_code = models.CharField(_("competence"), max_length=30, blank=True)
    cluster_key = models.CharField(_("competence cluster"), max_length=60, blank=True, db_index=True)
    service_slug = models.CharField(_("online service"), max_length=80, blank=True, db_index=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Topic(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="topics")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("question"), max_length=20000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    author_municipality = models.ForeignKey(
        Municipality, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="topics")
    accepted_answer = models.ForeignKey(
        "Answer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    locked = models.BooleanField(_("locked"), default=False)
    hidden = models.BooleanField(_("hidden"), default=False)
    score = models.IntegerField(_("votes"), default=0, editable=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-last_activity_at"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")

    def __str__(self) -> str:
        return self.title


class Answer(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="answers")
    body = models.TextField(_("answer"), max_length=20000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    author_municipality = models.ForeignKey(
        Municipality, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hidden = models.BooleanField(_("hidden"), default=False)
    score = models.IntegerField(_("votes"), default=0, editable=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")

    def __str__(self) -> str:
        return f"{self.topic} · {self.created_at:%Y-%m-%d}"


class Event(models.Model):
    """A webinar or forum day of the cooperation, with registration and waiting list."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=10000, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    online = models.BooleanField(_("online"), default=True)
    place = models.CharField(_("place"), max_length=300, blank=True)
    seats = models.PositiveIntegerField(_("seats"))
    organiser = models.ForeignKey(
        Municipality, verbose_name=_("organised by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("event")
        verbose_name_plural = _("events")

    def __str__(self) -> str:
        return self.title


class Registration(models.Model):
    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        WAITING = "waiting", _("On the waiting list")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="forum_registration_unique")]

    def __str__(self) -> str:
        return f"{self.event} · {self.get_status_display()}"


class Moderator(models.Model):
    """A moderator of the cooperation (any city's staff member); platform administrators moderate too."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forum_moderator")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user"]
        verbose_name = _("forum moderator")
        verbose_name_plural = _("forum moderators")

    def __str__(self) -> str:
        return str(self.user)


# --- votes, revisions, mentions, subscriptions, notifications, flags -----------------------------


def _one_target() -> models.Q:
    return models.Q(topic__isnull=False, answer__isnull=True) | models.Q(topic__isnull=True, answer__isnull=False)


class Vote(models.Model):
    """One person's vote for a question or an answer (voting again takes it back)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+"
    )
    topic = models.ForeignKey(
        Topic, verbose_name=_("topic"), null=True, blank=True, on_delete=models.CASCADE, related_name="votes"
    )
    answer = models.ForeignKey(
        Answer, verbose_name=_("answer"), null=True, blank=True, on_delete=models.CASCADE, related_name="votes"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        constraints = [
            models.CheckConstraint(condition=_one_target(), name="forum_vote_one_target"),
            models.UniqueConstraint(
                fields=["user", "topic"], condition=models.Q(topic__isnull=False), name="forum_vote_topic_once"
            ),
            models.UniqueConstraint(
                fields=["user", "answer"], condition=models.Q(answer__isnull=False), name="forum_vote_answer_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.topic_id or self.answer_id}"


class Revision(models.Model):
    """A published text of a question or an answer: the first one and every edit, never changed."""

    topic = models.ForeignKey(
        Topic, verbose_name=_("topic"), null=True, blank=True, on_delete=models.CASCADE, related_name="revisions"
    )
    answer = models.ForeignKey(
        Answer, verbose_name=_("answer"), null=True, blank=True, on_delete=models.CASCADE, related_name="revisions"
    )
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("version of a post")
        verbose_name_plural = _("versions of posts")
        constraints = [
            models.CheckConstraint(condition=_one_target(), name="forum_revision_one_target"),
            models.UniqueConstraint(
                fields=["topic", "number"], condition=models.Q(topic__isnull=False), name="forum_revision_topic_number"
            ),
            models.UniqueConstraint(
                fields=["answer", "number"],
                condition=models.Q(answer__isnull=False),
                name="forum_revision_answer_number",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic_id or self.answer_id} v{self.number}"


class Subscription(models.Model):
    """Someone follows a topic, or every new question with a tag (a competence, a cluster, a service)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+"
    )
    topic = models.ForeignKey(
        Topic, verbose_name=_("topic"), null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    tag = models.ForeignKey(
        Tag, verbose_name=_("tag"), null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(topic__isnull=False, tag__isnull=True)
                | models.Q(topic__isnull=True, tag__isnull=False),
                name="forum_subscription_one_target",
            ),
            models.UniqueConstraint(
                fields=["user", "topic"], condition=models.Q(topic__isnull=False), name="forum_subscription_topic"
            ),
            models.UniqueConstraint(
                fields=["user", "tag"], condition=models.Q(tag__isnull=False), name="forum_subscription_tag"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.topic or self.tag}"


class NotificationSetting(models.Model):
    """How a person hears of news in their subscriptions: each by e-mail, once a day, or only here."""

    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", _("Immediately, one e-mail per news")
        DAILY = "daily", _("Once a day, as a digest")
        OFF = "off", _("No e-mails (only in the forum)")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="forum_setting"
    )
    mode = models.CharField(_("e-mail notifications"), max_length=12, choices=Mode.choices, default=Mode.DAILY)
    last_digest_on = models.DateField(_("last digest sent on"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("forum notification setting")
        verbose_name_plural = _("forum notification settings")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.mode}"


class Notification(models.Model):
    """News for one person: a mention, an answer in a followed topic, a new question with a followed tag."""

    class Kind(models.TextChoices):
        MENTION = "mention", _("You were mentioned")
        ANSWER = "answer", _("New answer in a topic you follow")
        TOPIC = "topic", _("New question with a tag you follow")
        ACCEPTED = "accepted", _("Your answer was accepted")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="forum_notifications"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    topic = models.ForeignKey(Topic, verbose_name=_("topic"), on_delete=models.CASCADE, related_name="+")
    answer = models.ForeignKey(
        Answer, verbose_name=_("answer"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    mailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("forum notification")
        verbose_name_plural = _("forum notifications")
        indexes = [models.Index(fields=["user", "mailed_at"], name="forum_notif_unmailed")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.get_kind_display()}"


class Flag(models.Model):
    """A staff member reports a question or answer to the moderators, with a reason."""

    class Reason(models.TextChoices):
        SPAM = "spam", _("Spam or advertising")
        OFFENSIVE = "offensive", _("Offensive or disrespectful")
        PERSONAL_DATA = "personal_data", _("Contains personal data")
        WRONG = "wrong", _("Wrong or misleading")
        OTHER = "other", _("Something else")

    class Outcome(models.TextChoices):
        OPEN = "open", _("Open")
        HIDDEN = "hidden", _("Post hidden")
        DISMISSED = "dismissed", _("Dismissed")

    topic = models.ForeignKey(
        Topic, verbose_name=_("topic"), null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    answer = models.ForeignKey(
        Answer, verbose_name=_("answer"), null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reported by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, default=Outcome.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("resolved by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("flag")
        verbose_name_plural = _("flags")
        constraints = [models.CheckConstraint(condition=_one_target(), name="forum_flag_one_target")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.get_outcome_display()})"

    @property
    def reported_topic(self) -> Topic:
        """The topic of the reported post (the topic itself, or the answer's topic)."""
        return self.answer.topic if self.answer is not None else self.topic  # type: ignore[return-value]


class SearchDocument(models.Model):
    """One searchable document of a registered search source (a question, an answer, later others).

    ``search_text`` holds the folded stems of title and text (``dikom.lib.german_text``) and one
    ``tagx<slug>`` word per tag. SQLite looks words up in ``SearchTerm``; PostgreSQL searches the
    generated ``search_vector`` column (tsvector, configuration ``german``, GIN index), which
    migration 0004 adds on PostgreSQL only.
    """

    source = models.CharField(_("source"), max_length=40)
    key = models.CharField(_("key"), max_length=80)
    title = models.CharField(_("title"), max_length=300)
    excerpt = models.CharField(_("excerpt"), max_length=400, blank=True)
    url = models.CharField(_("address"), max_length=300)
    search_text = models.TextField(_("search text"), default="")
    rank = models.IntegerField(_("rank"), default=0)
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="forum_searchdocument_unique")]
        indexes = [models.Index(fields=["-rank", "-changed_at"], name="forum_searchdoc_order")]

    def __str__(self) -> str:
        return self.title


class SearchTerm(models.Model):
    """One stem (or ``tagx<slug>``) of a search document: the index SQLite looks words up in.

    ``rank`` and ``changed_at`` repeat the document's, so that the rows of one term are read in the
    order of the hits (index ``forum_term_ranked``) and a search stops after the first page.
    """

    document = models.ForeignKey(SearchDocument, on_delete=models.CASCADE, related_name="terms")
    term = models.CharField(max_length=100)
    rank = models.IntegerField(default=0)
    changed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("search term")
        verbose_name_plural = _("search terms")
        constraints = [models.UniqueConstraint(fields=["term", "document"], name="forum_searchterm_unique")]
        indexes = [models.Index(fields=["term", "-rank", "-changed_at"], name="forum_term_ranked")]

    def __str__(self) -> str:
        return self.term
