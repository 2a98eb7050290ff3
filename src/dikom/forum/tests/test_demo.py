"""The forum demo shows votes, accepted answers, a mention with its notification, subscriptions and a
question about a shared online service on that service's library page; it loads once."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dikom.accounts.models import User
from dikom.accounts.tests.factories import PASSWORD
from dikom.demo.actions import load_demo_cooperation
from dikom.eservices.service import load_demo_services
from dikom.forum.demo import load_demo_forum
from dikom.forum.models import Notification, Subscription, Topic, Vote

pytestmark = pytest.mark.django_db


def test_the_forum_demo_shows_votes_mentions_subscriptions_and_a_service_question(login: Any) -> None:
    load_demo_cooperation(password=PASSWORD)
    load_demo_services()
    assert load_demo_forum()
    assert not load_demo_forum()  # once
    assert Topic.objects.filter(accepted_answer__isnull=False).count() == 2
    assert all("(Demo)" in t.title for t in Topic.objects.all())
    assert Vote.objects.count() >= 6 and Topic.objects.filter(score__gt=0).exists()
    reviewer = User.objects.get(username="wetzlar-reviewer")
    assert Notification.objects.filter(user=reviewer, kind=Notification.Kind.MENTION).count() == 1
    assert Subscription.objects.filter(tag__slug="e-akte", user__username="limburg-staff").exists()
    service_topic = Topic.objects.get(tags__service_slug__gt="")
    slug = service_topic.tags.get(service_slug__gt="").service_slug
    client = login(Client(), reviewer)
    assert service_topic.title in client.get(f"/dienste/{slug}/").content.decode()
    page = client.get("/transferforum/benachrichtigungen/").content.decode()
    assert "Sie wurden erwähnt" in page
