"""Atom and RSS feeds of new and changed datasets: the whole portal and each organisation.

Published datasets only, newest change first; an entry's id is the dataset's
stable IRI (``/dataset/<uuid>``), so a feed reader sees a change as an update
of the same entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.translation import gettext as _

from dikom.opendata import service
from dikom.opendata.models import Dataset, Organization

FEED_ITEMS = 50


class DatasetFeed(Feed):
    feed_type: type[Atom1Feed] | type[Rss201rev2Feed] = Atom1Feed

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Organization | None:
        name = kwargs.get("name")
        return get_object_or_404(Organization, name=name) if name else None

    def title(self, obj: Organization | None) -> str:
        if obj is None:
            return _("Open data: new and changed datasets")
        return _("Open data of %(name)s: new and changed datasets") % {"name": obj.title}

    def link(self, obj: Organization | None) -> str:
        if obj is None:
            return reverse("opendata:index")
        return reverse("opendata:organization", kwargs={"name": obj.name})

    def subtitle(self, obj: Organization | None) -> str:
        return _("The %(n)d most recently published or changed datasets.") % {"n": FEED_ITEMS}

    description = subtitle

    def items(self, obj: Organization | None) -> list[Dataset]:
        datasets = Dataset.objects.filter(state=Dataset.State.PUBLISHED).select_related("organization")
        if obj is not None:
            datasets = datasets.filter(organization=obj)
        return list(datasets.prefetch_related("tags").order_by("-updated_at", "-id")[:FEED_ITEMS])

    def item_title(self, item: Dataset) -> str:
        return item.title

    def item_description(self, item: Dataset) -> str:
        # Plain text (the feed generator escapes it); Markdown is not rendered here.
        return item.notes[:1000]

    def item_link(self, item: Dataset) -> str:
        return reverse("opendata:dataset", kwargs={"name": item.name})

    def item_guid(self, item: Dataset) -> str:
        return service.dataset_iri(item)

    item_guid_is_permalink = False

    def item_pubdate(self, item: Dataset) -> datetime:
        return item.issued or item.created_at

    def item_updateddate(self, item: Dataset) -> datetime:
        return item.updated_at

    def item_author_name(self, item: Dataset) -> str:
        return item.organization.title

    def item_categories(self, item: Dataset) -> list[str]:
        return [tag.name for tag in item.tags.all()]


class DatasetRssFeed(DatasetFeed):
    feed_type = Rss201rev2Feed
