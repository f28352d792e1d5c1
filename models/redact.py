"""Redact personal data before anything is logged or stored.

The detectors live in `models.redaction` (phone numbers with phonenumbers; IBAN, BSN and IMEI with python-stdnum;
names, addresses, postcodes, e-mail and customer numbers with patterns and word lists). Measured with
`python -m eval.redaction`.
"""

from __future__ import annotations

from models.redaction import find_spans, redact

__all__ = ["find_spans", "redact"]
