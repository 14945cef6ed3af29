"""The sandbox's per-app objects, shared by the middleware and the route handlers."""

from __future__ import annotations

from dataclasses import dataclass

from importer.sandbox.auth import Authenticator
from importer.sandbox.config import SandboxConfig
from importer.sandbox.faults import Faults
from importer.sandbox.state import SandboxState


@dataclass
class SandboxContext:
    """Configuration, state, fault injector and authenticator of one sandbox app."""

    config: SandboxConfig
    state: SandboxState
    faults: Faults
    auth: Authenticator

    @classmethod
    def build(cls, config: SandboxConfig, state: SandboxState | None = None) -> SandboxContext:
        """Everything one app needs, from its configuration."""
        return cls(config, state or SandboxState(config), Faults(config), Authenticator(config))
