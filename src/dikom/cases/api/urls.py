from django.urls import path

from dikom.cases.api import message_views, views, webhook_views

app_name = "cases-api"

CASE = "<uuid:case_uuid>/"

urlpatterns = [
    path("", views.CaseListView.as_view(), name="case-list"),
    path("tasks/", views.InboxView.as_view(), name="inbox"),
    path("webhooks/", webhook_views.SubscriptionListView.as_view(), name="webhook-list"),
    path("webhooks/<uuid:subscription_uuid>/", webhook_views.SubscriptionDetailView.as_view(), name="webhook-detail"),
    path(
        "webhooks/<uuid:subscription_uuid>/deliveries/",
        webhook_views.DeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    path(CASE, views.CaseDetailView.as_view(), name="case-detail"),
    path(CASE + "history/", views.CaseHistoryView.as_view(), name="case-history"),
    path(CASE + "tasks/", views.TaskListView.as_view(), name="task-list"),
    path(CASE + "tasks/<uuid:task_uuid>/complete/", views.TaskCompleteView.as_view(), name="task-complete"),
    path(CASE + "decision/", views.DecisionView.as_view(), name="decision"),
    path(CASE + "messages/", message_views.CaseMessageView.as_view(), name="case-messages"),
    path(CASE + "documents/", views.DocumentListView.as_view(), name="document-list"),
    path(
        CASE + "documents/<uuid:document_uuid>/content/", views.DocumentContentView.as_view(), name="document-content"
    ),
]
