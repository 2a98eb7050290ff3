"""Virus scanning of portal uploads: the platform's upload scanner (``dikom.scanning``).

Kept as the portal's name for it; the scanners, their settings
(``DIKOM_UPLOAD_SCANNER``, ``DIKOM_CLAMD_ADDRESS``) and the PDF check live in
``dikom.scanning``.
"""

from __future__ import annotations

from dikom.scanning.service import (
    CLEAN,
    FAILED,
    INFECTED,
    UNSCANNED,
    ScanResult,
    pdf_active_content,
    refusal_message,
    scan,
)

__all__ = ["CLEAN", "FAILED", "INFECTED", "UNSCANNED", "ScanResult", "pdf_active_content", "refusal_message", "scan"]
