"""Outgoing webhooks, one mechanism for every app that sends them (hand-over, case events, automation).

- ``signing``: Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature: v1,<base64>``; secrets ``whsec_<base64>``);
- ``transport``: one signed POST through the SSRF guard of ``dikom.lib.safe_http``
  under the caller's ``Policy`` (its settings decide http/private targets and the timeout);
- ``outbox``: the delivery rows' bookkeeping: claim an attempt, record its
  outcome, exponential backoff, a fresh round on request.

Each app keeps its own models, payloads, settings and audit entries.
"""
