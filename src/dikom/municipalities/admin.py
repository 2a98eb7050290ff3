from django.contrib import admin

from dikom.municipalities.models import District, Municipality, OrgUnit


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "kind")
    search_fields = ("key", "name")


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    list_display = ("name", "ags", "district", "population", "membership", "is_demo")
    list_filter = ("membership", "kind", "is_demo")
    search_fields = ("name", "ags")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ("name", "short_name", "kind", "municipality", "parent")
    list_filter = ("municipality", "kind")
    search_fields = ("name", "short_name")
    list_select_related = ("municipality", "parent")
