"""All settings of wenzheng in one class, read from ``WENZHENG_*`` environment variables.

Every field here must be documented in docs/configuration.md; a test fails otherwise.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "dev-insecure-change-me"  # noqa: S105 - the placeholder production mode refuses
PLACEHOLDER_SECRETS = frozenset({DEFAULT_SECRET_KEY, "", "changeme", "change-me", "secret", "password"})


class Mode(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WENZHENG_", extra="ignore")

    mode: Mode = Mode.DEVELOPMENT
    database_url: str = "sqlite:///./var/wenzheng.db"
    secret_key: str = DEFAULT_SECRET_KEY
    # Earlier secret keys, comma-separated, while a new one takes over: what they sealed and signed still opens
    # (channel secrets, unsubscribe and confirmation links); `wenzheng secrets reseal` then moves the stored
    # secrets to the new key, after which they can be dropped. Never logged.
    previous_secret_keys: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    base_url: str = "http://127.0.0.1:8000"
    default_language: str = Field(default="zh", pattern="^(zh|en)$")
    session_hours: float = Field(default=12.0, gt=0)
    cookie_secure: bool = False
    login_max_failures_per_user: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    jobs_inline: bool = False
    job_max_attempts: int = Field(default=5, ge=1)
    job_backoff_seconds: float = Field(default=2.0, gt=0)
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    attachments_dir: Path = Path("./var/attachments")
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_api_timeout_seconds: float = Field(default=10.0, gt=0)
    wechat_replay_window_seconds: int = Field(default=300, ge=1)
    wechat_max_body_bytes: int = Field(default=65_536, ge=1024)
    sms_gateway_url: str = ""
    sms_gateway_key: str = ""
    sms_webhook_secret: str = "dev-sms-webhook-secret"  # noqa: S105 - a placeholder production refuses
    sms_max_body_bytes: int = Field(default=16_384, ge=1024)
    mail_domain: str = "wenzheng.localhost"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtpd_host: str = "127.0.0.1"
    smtpd_port: int = Field(default=2525, ge=1, le=65535)
    email_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    web_max_messages_per_address_per_hour: int = Field(default=30, ge=1)
    web_max_messages_per_phone_per_hour: int = Field(default=10, ge=1)
    web_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    case_follow_up_hours: float = Field(default=24.0, ge=0)
    bulletin_page_size: int = Field(default=5000, ge=10, le=10_000)
    bulletin_wechat_calls_per_minute: float = Field(default=60.0, gt=0)
    bulletin_sms_per_second: float = Field(default=50.0, gt=0)
    bulletin_email_per_second: float = Field(default=20.0, gt=0)
    bulletin_push_per_second: float = Field(default=200.0, gt=0)
    bulletin_send_concurrency: int = Field(default=8, ge=1, le=64)
    bulletin_sms_max_segments: int = Field(default=3, ge=1, le=10)
    bulletin_max_attempts: int = Field(default=5, ge=1)
    vapid_private_key: str = ""
    vapid_subject: str = "mailto:webpush@wenzheng.localhost"
    webpush_allow_local_http: bool = False
    webpush_timeout_seconds: float = Field(default=10.0, gt=0)
    map_tile_url: str = ""
    map_tile_attribution: str = ""
    map_tile_datum: str = Field(default="wgs84", pattern="^(wgs84|gcj02)$")
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.mode is Mode.PRODUCTION and self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError(
                "WENZHENG_SECRET_KEY is a placeholder; production mode needs a real secret "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.mode is Mode.PRODUCTION and self.sms_gateway_url and self.sms_webhook_secret.startswith("dev-"):
            raise ValueError(
                "WENZHENG_SMS_WEBHOOK_SECRET is the development placeholder; set the gateway's real secret"
            )
        if self.mode is Mode.PRODUCTION and len(self.secret_key) < 32:
            raise ValueError("WENZHENG_SECRET_KEY must be at least 32 characters in production mode")
        return self

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The secret key, then the previous ones: the first signs and seals, any of them verifies and opens."""
        previous = (key.strip() for key in self.previous_secret_keys.split(","))
        return tuple(dict.fromkeys([self.secret_key, *(key for key in previous if key)]))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The database file for a file-backed SQLite URL, else None."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[-1]
        return None if path in ("", ":memory:") else Path(path)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
