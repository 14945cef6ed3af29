"""Who is calling: Bearer tokens (and HTTP Basic logins) mapped to a partner and scopes."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from importer.sandbox.config import SCOPE_MANAGE, Partner, SandboxConfig


@dataclass(frozen=True)
class Caller:
    """An authenticated partner and the scopes of the credential it used."""

    partner: Partner
    scopes: frozenset[str]

    def has_any(self, scopes: frozenset[str]) -> bool:
        """True when the credential holds at least one of these scopes."""
        return not self.scopes.isdisjoint(scopes)


class Authenticator:
    """Resolves an `Authorization` header to a `Caller`, or None when it is not accepted."""

    def __init__(self, config: SandboxConfig) -> None:
        self._tokens: dict[str, Caller] = {}
        self._logins: dict[tuple[str, str], Caller] = {}
        for partner in config.partners:
            for token, scopes in partner.tokens.items():
                self._tokens[token] = Caller(partner, frozenset(scopes))
            for username, password in partner.basic_logins.items():
                self._logins[(username, password)] = Caller(partner, frozenset({SCOPE_MANAGE}))

    def caller(self, authorization: str | None) -> Caller | None:
        """The caller this header authenticates, or None."""
        if not authorization:
            return None
        scheme, _, credential = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            return self._tokens.get(credential.strip())
        if scheme.lower() == "basic":
            return self._logins.get(_basic_pair(credential.strip()))
        return None


def _basic_pair(credential: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(credential, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    username, _, password = decoded.partition(":")
    return (username, password)
