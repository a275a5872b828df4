"""Reading the desk's configuration from ``SECDESK_*`` environment variables.

Kept apart from ``settings.py`` so the parsing rules (booleans, lists, sizes)
are written once and tested without booting Django.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the process must not start."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ConfigError(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def data_dir() -> Path:
    """The directory holding the SQLite file, attachments and generated secrets."""
    path = Path(env_str("SECDESK_DATA_DIR", "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(production: bool, directory: Path) -> str:
    """The signing key: from the environment in production, else one generated per data directory.

    The embedded default must start with no set-up, yet never share a key
    between installations, so it keeps a random key beside its database.
    """
    key = env_str("SECDESK_SECRET_KEY")
    if key:
        if production and len(key) < 50:
            raise ConfigError("SECDESK_SECRET_KEY must be at least 50 characters in production")
        return key
    if production:
        raise ConfigError("SECDESK_SECRET_KEY is required when SECDESK_PRODUCTION=1")
    path = directory / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


def mailers(url: str, file_dir: Path) -> dict[str, dict[str, object]]:
    """Django ``MAILERS`` from ``SECDESK_SMTP_URL``; without one, mail is written to files under the data dir.

    ``smtp://user:pass@host:587?starttls=1`` (STARTTLS), ``smtps://…:465`` (implicit TLS),
    ``smtp://host:25`` (plain, for a local relay). User and password are URL-decoded.
    """
    from urllib.parse import parse_qs, unquote, urlsplit

    if not url:
        return {
            "default": {
                "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                "OPTIONS": {"file_path": str(file_dir)},
            }
        }
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError("SECDESK_SMTP_URL must look like smtp://user:pass@host:587?starttls=1 or smtps://…")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    options: dict[str, object] = {
        "host": parts.hostname,
        "port": parts.port or (465 if parts.scheme == "smtps" else 25),
        "timeout": int(query.get("timeout", "20")),
    }
    if parts.username:
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    if parts.scheme == "smtps":
        options["use_ssl"] = True
    elif query.get("starttls", "0").lower() in TRUE:
        options["use_tls"] = True
    return {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}}
