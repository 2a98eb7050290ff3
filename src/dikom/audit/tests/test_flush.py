import pytest
from django.core.management import call_command
from django.db import DatabaseError, transaction

from dikom.audit.actions import record
from dikom.audit.maintenance import audit_maintenance
from dikom.audit.models import AuditEvent


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_audit_log_and_the_rule_holds_again_afterwards(city_a):
    record("before.flush", municipality=city_a)

    call_command("flush", interactive=False, verbosity=0)

    assert AuditEvent.objects.count() == 0
    event = record("after.flush")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_maintenance_mode_is_scoped_to_its_block(city_a):
    event = record("x.y", municipality=city_a)

    with audit_maintenance():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert not AuditEvent.objects.filter(pk=event.pk).exists()

    other = record("x.z", municipality=city_a)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=other.pk).delete()
