"""JWT issue and verification, per RFC 8725: fixed algorithm list, every claim required."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from app.db.base import new_id, utcnow
from app.errors import Unauthorized
from app.settings import Settings

ALGORITHM = "HS256"
ALLOWED_ALGORITHMS = [ALGORITHM]
REQUIRED_CLAIMS = ["sub", "iss", "aud", "iat", "exp", "jti"]


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class TokenClaims:
    company_id: str
    jti: str
    expires_at: datetime


def issue_token(settings: Settings, company_id: str) -> IssuedToken:
    issued_at = utcnow().replace(microsecond=0)
    expires_at = issued_at + timedelta(days=settings.token_ttl_days)
    jti = new_id()
    claims = {
        "sub": company_id,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": issued_at,
        "exp": expires_at,
        "jti": jti,
    }
    token = jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM, headers={"typ": "JWT"})
    return IssuedToken(token=token, jti=jti, issued_at=issued_at, expires_at=expires_at)


_REFUSALS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "The token has expired; request a new one."),
    (jwt.InvalidAudienceError, "The token is not valid: it was issued for another audience."),
    (jwt.InvalidIssuerError, "The token is not valid: it was issued by another issuer."),
    (jwt.MissingRequiredClaimError, "The token is not valid: a required claim is missing."),
    (jwt.ImmatureSignatureError, "The token is not valid yet."),
    (jwt.InvalidSignatureError, "The token is not valid: its signature does not match."),
    (jwt.InvalidAlgorithmError, "The token is not valid: its algorithm is not accepted."),
)


def decode_token(settings: Settings, token: str) -> TokenClaims:
    """Verify signature, algorithm, issuer, audience and expiry; any failure is a 401 whose detail
    names the kind of problem, never the decoder's own message."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=ALLOWED_ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": REQUIRED_CLAIMS, "verify_signature": True},
        )
    except jwt.PyJWTError as exc:
        detail = next((text for kind, text in _REFUSALS if isinstance(exc, kind)), "The token is not valid.")
        raise Unauthorized(detail) from exc
    if not isinstance(claims["sub"], str) or not isinstance(claims["jti"], str):
        raise Unauthorized("The token is not valid: sub and jti must be strings.")
    if type(claims["exp"]) is not int:
        raise Unauthorized("The token is not valid: exp must be an integer number of seconds.")
    try:
        expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise Unauthorized("The token is not valid: exp is out of range.") from exc
    return TokenClaims(company_id=claims["sub"], jti=claims["jti"], expires_at=expires_at)
