"""HubSpot webhooks: request validation v3 (FACTS §1.11)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time


# decode only the characters HubSpot lists (FACTS §1.11); a full unquote would be wrong
_DECODE = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
           "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}
MAX_SIGNATURE_AGE_MS = 300_000


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    for encoded, plain in _DECODE.items():
        uri = uri.replace(encoded, plain).replace(encoded.lower(), plain)
    message = (method.upper() + uri + body.decode("utf-8") + timestamp).encode("utf-8")
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def valid_signature_v3(secret: str, method: str, uri: str, body: bytes, signature: str | None,
                       timestamp: str | None, now_ms: int | None = None) -> bool:
    """HubSpot's request validation v3 (FACTS §1.11): HMAC-SHA256 over method+uri+body+timestamp,
    rejected when the timestamp is more than 5 minutes old."""
    if not secret or not signature or not timestamp or not timestamp.isdigit():
        return False
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    if abs(now_ms - int(timestamp)) > MAX_SIGNATURE_AGE_MS:
        return False
    try:
        expected = signature_v3(secret, method, uri, body, timestamp)
    except UnicodeDecodeError:
        return False
    return hmac.compare_digest(expected, signature)


def verify(secret: str, *, method: str, urls: list[str], body: bytes, headers) -> bool:
    """A webhook request signed by the app whose client secret is `secret`, at one of the `urls`
    (HubSpot signs the URL it called: behind a proxy that is the public one)."""
    signature = headers.get("X-HubSpot-Signature-v3")
    timestamp = headers.get("X-HubSpot-Request-Timestamp")
    return any(valid_signature_v3(secret, method, url, body, signature, timestamp) for url in dict.fromkeys(urls))
