from django.apps import AppConfig


class ReportCardsConfig(AppConfig):
    name = "reportcards"
    verbose_name = "Report cards"
