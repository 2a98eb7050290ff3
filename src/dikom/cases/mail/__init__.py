"""Inbound e-mail for cases: reply addresses, reading hostile mail, delivery as ``dikom:e-mail-eingegangen``."""
