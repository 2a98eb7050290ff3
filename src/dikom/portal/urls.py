from django.urls import path

from dikom.portal import cities, mailbox, views

app_name = "portal"

urlpatterns = [
    path("", cities.index, name="index"),
    path("antraege/", views.my_applications, name="my_applications"),
    path("antraege/<uuid:uuid>/", mailbox.application_detail, name="application_detail"),
    path("antraege/<uuid:uuid>/dokumente/<uuid:document>/", mailbox.document_download, name="application_document"),
    path("fortsetzen/<str:token>/", views.resume, name="resume"),
    path("<slug:city>/", views.finder, name="finder"),
    path("<slug:city>/dienst/<slug:slug>/", views.service_detail, name="service"),
    path("<slug:city>/dienst/<slug:slug>/starten/", views.start, name="start"),
    path("<slug:city>/antrag/<uuid:uuid>/anmelden/", views.sign_in, name="sign_in"),
    path("<slug:city>/antrag/<uuid:uuid>/anmelden/auswahl/", views.sign_in_with, name="sign_in_with"),
    path("<slug:city>/antrag/<uuid:uuid>/schritt/<int:number>/", views.step, name="step"),
    path("<slug:city>/antrag/<uuid:uuid>/zusammenfassung/", views.summary, name="summary"),
    path("<slug:city>/antrag/<uuid:uuid>/bestaetigung/", views.confirmation, name="confirmation"),
    path("<slug:city>/antrag/<uuid:uuid>/quittung.pdf", views.receipt, name="receipt"),
    path("<slug:city>/antrag/<uuid:uuid>/abbrechen/", views.cancel, name="cancel"),
]
