"""Fixtures of the sign-in tests: key pairs and a running SAML test IdP with dikom configured for it."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from dikom.authproviders.tests.saml_browser import ACS_URL, SITE, SP_ENTITY_ID
from dikom.authproviders.tests.saml_idp import GIVEN_NAME, SamlTestIdp, make_key_pair


@pytest.fixture(scope="module")
def keys():
    return {"sp": make_key_pair("dikom SP"), "idp": make_key_pair("BundID test IdP"), "other": make_key_pair("Other")}


@pytest.fixture
def idp(settings, tmp_path, keys):
    server = SamlTestIdp(
        sp_entity_id=SP_ENTITY_ID,
        sp_certificate=keys["sp"].certificate,
        acs_url=ACS_URL,
        signing=keys["idp"],
        stranger=keys["other"],
    ).start()
    sp_cert, idp_cert = tmp_path / "sp.pem", tmp_path / "idp.pem"
    sp_cert.write_text(keys["sp"].cert_pem)
    idp_cert.write_text(keys["idp"].cert_pem)
    settings.SITE_URL = SITE
    settings.DIKOM_AUTH_PROVIDERS = ["bundid"]
    settings.DIKOM_SAML_SP_ENTITY_ID = SP_ENTITY_ID
    settings.DIKOM_SAML_SP_KEY = keys["sp"].key_pem
    settings.DIKOM_SAML_SP_CERT_FILE = str(sp_cert)
    settings.DIKOM_SAML_SP_NEXT_KEY = None
    settings.DIKOM_SAML_SP_NEXT_CERT_FILE = None
    settings.DIKOM_SAML_IDP_ENTITY_ID = server.entity_id
    settings.DIKOM_SAML_IDP_SSO_URL = server.sso_url
    settings.DIKOM_SAML_IDP_CERT_FILE = str(idp_cert)
    settings.DIKOM_SAML_METHODS = ["bundid", "eid", "elster"]
    settings.DIKOM_SAML_DEFAULT_LEVEL = "low"
    settings.DIKOM_SAML_ATTRIBUTES = [f"given_name={GIVEN_NAME}"]
    settings.DIKOM_SAML_SIGN_METADATA = True
    cache.clear()  # parked results and rate-limit counts of earlier tests
    yield server
    server.stop()
