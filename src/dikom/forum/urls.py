from django.urls import path

from dikom.forum import post_views, views

app_name = "forum"

topic = "fragen/<uuid:topic_uuid>/"
answer = topic + "antworten/<uuid:answer_uuid>/"

urlpatterns = [
    path("", views.index, name="index"),
    path("fragen/neu/", views.ask, name="ask"),
    path(topic, views.topic, name="topic"),
    path(topic + "antworten/", views.post_answer, name="answer"),
    path(topic + "akzeptieren/<uuid:answer_uuid>/", views.accept, name="accept"),
    path(topic + "moderation/", views.moderate, name="moderate"),
    path(topic + "abstimmen/", post_views.vote, name="vote"),
    path(topic + "folgen/", post_views.follow, name="follow"),
    path(topic + "bearbeiten/", post_views.edit, name="edit"),
    path(topic + "entwurf/", post_views.draft, name="draft"),
    path(topic + "versionen/", post_views.versions, name="versions"),
    path(topic + "melden/", post_views.flag, name="flag"),
    path(answer + "abstimmen/", post_views.vote, name="answer_vote"),
    path(answer + "bearbeiten/", post_views.edit, name="answer_edit"),
    path(answer + "entwurf/", post_views.draft, name="answer_draft"),
    path(answer + "versionen/", post_views.versions, name="answer_versions"),
    path(answer + "melden/", post_views.flag, name="answer_flag"),
    path("themen/<slug:slug>/folgen/", post_views.follow_tag, name="follow_tag"),
    path("entwuerfe/", post_views.drafts, name="drafts"),
    path("benachrichtigungen/", post_views.notifications_page, name="notifications"),
    path("moderation/", post_views.moderation, name="moderation"),
    path("moderation/meldungen/<int:flag_id>/erledigt/", post_views.flag_dismiss, name="flag_dismiss"),
    path("veranstaltungen/", views.events, name="events"),
    path("veranstaltungen/neu/", views.event_new, name="event_new"),
    path("veranstaltungen/<uuid:event_uuid>/", views.event, name="event"),
    path("veranstaltungen/<uuid:event_uuid>/termin.ics", views.event_ics, name="event_ics"),
    path("veranstaltungen/<uuid:event_uuid>/anmelden/", views.event_register, name="event_register"),
    path("veranstaltungen/<uuid:event_uuid>/abmelden/", views.event_unregister, name="event_unregister"),
]
