"""The e-file: xdomea 3.0.0 messages of closed cases and the connectors that transfer them.

Public surface: ``dikom.cases.efile.service`` (export and transfer) and the
data classes in ``dikom.cases.efile.model``. See docs/efile-xdomea.md.
"""
