from django.urls import path

from dikom.forum import views

app_name = "forum"

urlpatterns = [
    path("", views.index, name="index"),
    path("fragen/neu/", views.ask, name="ask"),
    path("fragen/<uuid:topic_uuid>/", views.topic, name="topic"),
    path("fragen/<uuid:topic_uuid>/antworten/", views.post_answer, name="answer"),
    path("fragen/<uuid:topic_uuid>/akzeptieren/<uuid:answer_uuid>/", views.accept, name="accept"),
    path("fragen/<uuid:topic_uuid>/moderation/", views.moderate, name="moderate"),
    path("veranstaltungen/", views.events, name="events"),
    path("veranstaltungen/neu/", views.event_new, name="event_new"),
    path("veranstaltungen/<uuid:event_uuid>/", views.event, name="event"),
    path("veranstaltungen/<uuid:event_uuid>/termin.ics", views.event_ics, name="event_ics"),
    path("veranstaltungen/<uuid:event_uuid>/anmelden/", views.event_register, name="event_register"),
    path("veranstaltungen/<uuid:event_uuid>/abmelden/", views.event_unregister, name="event_unregister"),
]
