"""Whom a BundID answer names: one pseudonym space per source, bPK2 by Name only, NameIDs only when persistent.

The subject used to be SHA-256(IdP, bPK2) — or, without a bPK2, the same hash
over *any* NameID that was not transient. So a NameID without Format (or
``unspecified``) carrying the value of someone's bPK2, or an attribute whose
FriendlyName was the bPK2 OID, named that citizen. Now the source is part of
the hash (the bPK2 hash itself is unchanged, so linked citizens keep their
applications), the attribute is found by Name only, and NameIDs count only
with the persistent format.
"""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from dikom.authproviders import registry
from dikom.authproviders.contrib import saml, saml_xml
from dikom.authproviders.models import UsedAssertion
from dikom.authproviders.tests.saml_browser import identity, sign_in
from dikom.authproviders.tests.saml_idp import BPK2, QAA_LEVEL

pytestmark = pytest.mark.django_db

NO_PSEUDONYM = "Der Identitätsdienst hat kein dauerhaftes Pseudonym für Sie übermittelt."
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
ERIKA = "bpk2-erika-mustermann"


def _subject_of(idp) -> str | None:
    client = Client()
    response = sign_in(client, idp)
    found = identity(client)
    if response.status_code != 302 or found is None:
        return None
    return found.subject


def test_bpk2_subject_is_unchanged_so_linked_citizens_keep_their_accounts(idp):
    # The formula every stored subject was made with: "bundid-" + SHA-256(IdP entity id, newline, bPK2).
    before = "bundid-" + hashlib.sha256(f"{idp.entity_id}\n{ERIKA}".encode()).hexdigest()
    assert _subject_of(idp) == before


@pytest.mark.parametrize("name_id_format", [None, UNSPECIFIED, saml_xml.NAMEID_TRANSIENT,
                                            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"])  # fmt: skip
def test_without_bpk2_a_nameid_that_is_not_persistent_is_refused(idp, name_id_format):
    idp.send_bpk2, idp.name_id, idp.name_id_format = False, ERIKA, name_id_format
    client = Client()
    response = sign_in(client, idp)
    assert response.status_code == 400
    assert NO_PSEUDONYM in response.content.decode()
    assert identity(client) is None
    # A refused answer does not use up its assertion.
    assert not UsedAssertion.objects.exists()


def test_a_persistent_nameid_is_its_own_pseudonym_space(idp):
    erika = _subject_of(idp)
    idp.send_bpk2, idp.name_id, idp.name_id_format = False, ERIKA, saml_xml.NAMEID_PERSISTENT
    # The same value as Erika's bPK2, but as a NameID: someone else.
    other = _subject_of(idp)
    assert erika is not None and other is not None
    assert other != erika
    assert other == "bundid-" + saml.subject_hash(idp.entity_id, f"nameid:{saml_xml.NAMEID_PERSISTENT}", ERIKA)
    # And it is stable: the same persistent NameID signs in as the same person again.
    assert _subject_of(idp) == other


def test_friendly_name_of_the_bpk2_oid_does_not_make_an_attribute_the_bpk2(idp):
    idp.send_bpk2 = False
    idp.extra_attributes = [("urn:example:nickname", BPK2, ERIKA)]
    assert _subject_of(idp) is None


def test_the_bpk2_is_taken_by_name_even_when_a_friendly_name_claims_it_too(idp):
    erika = _subject_of(idp)
    idp.extra_attributes = [("urn:example:nickname", BPK2, "bpk2-mallory")]
    assert _subject_of(idp) == erika


def test_trust_level_attribute_is_read_by_name_only(idp):
    # AuthnContextClassRef unknown: the level attribute decides, but only under its Name.
    idp.class_ref = "urn:unknown:level"
    idp.attributes = {}
    idp.extra_attributes = [("urn:example:claimed-level", QAA_LEVEL, "STORK-QAA-Level-4")]
    client = Client()
    assert sign_in(client, idp).status_code == 302
    found = identity(client)
    assert found is not None and found.trust_level == "none"


@pytest.mark.parametrize("bpk2", ["bpk2-erika\nnameid:x", "bpk2\terika", "x" * 1001])
def test_unusable_bpk2_values_are_refused(idp, bpk2):
    idp.bpk2 = bpk2
    assert _subject_of(idp) is None


def test_two_different_bpk2_values_are_refused(idp):
    idp.extra_attributes = [(BPK2, "", "bpk2-mallory")]
    assert _subject_of(idp) is None


def test_another_configured_subject_attribute_is_hashed_with_its_name(idp, settings):
    settings.DIKOM_SAML_SUBJECT_ATTRIBUTE = "urn:example:citizen-id"
    idp.extra_attributes = [("urn:example:citizen-id", "", ERIKA)]
    subject = _subject_of(idp)
    assert subject == "bundid-" + saml.subject_hash(idp.entity_id, "attribute:urn:example:citizen-id", ERIKA)
    assert subject != "bundid-" + saml.subject_hash(idp.entity_id, "", ERIKA)


def test_a_bpk2_cannot_pose_as_another_source():
    # A bPK2 input has one newline, every other two; a bPK2 holding a newline is refused (see above).
    assert saml.subject_hash("idp", "", "nameid:p\na") == saml.subject_hash("idp", "nameid:p", "a")
    assert saml.subject_hash("idp", "", "a") != saml.subject_hash("idp", "nameid:p", "a")


def test_idp_entity_id_with_a_control_character_is_not_accepted(idp, settings):
    settings.DIKOM_SAML_IDP_ENTITY_ID = idp.entity_id + "\nx"
    assert registry.get("bundid") is None
