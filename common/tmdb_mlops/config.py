"""One settings object for every part of the platform.

Values come from environment variables (and a ``.env`` file when present), are
validated once at start-up, and are injected where needed through
:func:`get_settings`, so tests can override them. Nothing here has side effects
at import time.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tmdb_mlops.errors import ConfigError


def _is_secret(annotation: object) -> bool:
    return "SecretStr" in repr(annotation)


PLACEHOLDER_SECRETS = {"changeme", "change-me", "placeholder", "xxx", "your-key-here"}


class Settings(BaseSettings):
    """Every tunable of the platform; see ``.env.template`` for the documented list."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # `.env.template` copied as is leaves many variables empty: empty means "default".
        env_ignore_empty=True,
    )

    environment: Literal["development", "production"] = "development"
    log_level: str = "INFO"
    git_revision: str | None = Field(
        None, description="the source revision, recorded in bundles (set in the images)"
    )

    # Storage -----------------------------------------------------------------
    storage_url: str = "./data"
    s3_endpoint_url: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_default_region: str = "us-east-1"

    # TMDB --------------------------------------------------------------------
    tmdb_base_url: str = "https://api.themoviedb.org/3"
    tmdb_api_key: SecretStr | None = None
    tmdb_read_access_token: SecretStr | None = None
    tmdb_rate_limit: float = Field(
        40.0, gt=0,
        description="client-side requests per second: per process, or per host with TMDB_RATE_LIMIT_DIR",
    )
    tmdb_rate_limit_dir: str | None = Field(
        None,
        min_length=1,
        description="a directory every collector on the host shares (a Docker volume or host directory); "
        "set, TMDB_RATE_LIMIT is one budget for all of them, as TMDB counts per IP address",
    )
    tmdb_concurrency: int = Field(8, ge=1, le=64)
    tmdb_timeout_seconds: float = Field(10.0, gt=0)
    tmdb_max_retries: int = Field(6, ge=0, le=20)
    tmdb_language: str = "en-US"
    tmdb_max_pages: int = Field(
        500, ge=1, le=500, description="TMDB pages no query past 500; lower only for a sandbox"
    )

    # Collection --------------------------------------------------------------
    collect_history_start: date = date(1940, 1, 1)
    collect_slices: int = Field(30, ge=1, description="train history is split in this many slices")
    collect_settle_days: int = Field(180, ge=0)
    collect_min_votes: int = Field(20, ge=0)
    collect_inference_horizon_days: int = Field(180, ge=1)
    collect_enrich: bool = True
    collect_max_reject_fraction: float = Field(0.05, ge=0, le=1)
    collect_outcomes_window_days: int = Field(
        1, ge=1,
        description="the outcomes of D are the predicted films whose rating settled "
        "(release + COLLECT_SETTLE_DAYS) in the N days up to D: 1 fetches each film once",
    )

    # Training ----------------------------------------------------------------
    train_holdout_fraction: float = Field(0.2, gt=0, lt=1)
    train_seed: int = 42
    promotion_tolerance: float = Field(0.0, ge=0, description="allowed RMSE excess over champion")
    interval_coverage: float = Field(
        0.8, ge=0.5, le=0.99,
        description="nominal coverage of the prediction interval each bundle carries (issue #13)",
    )
    model_signing_key: SecretStr | None = None

    # Monitoring (issue #12) ----------------------------------------------------
    monitor_psi_threshold: float = Field(
        0.25, gt=0, description="drift: population-stability index of a number (or the prediction)"
    )
    monitor_share_threshold: float = Field(
        0.15, gt=0, le=1, description="drift: largest change in the share of a category or list value"
    )
    monitor_missing_threshold: float = Field(
        0.15, gt=0, le=1, description="drift: change in a column's missing rate"
    )
    monitor_retrain_margin: float = Field(
        0.1, ge=0, description="retrain when realized RMSE > holdout RMSE x (1 + this)"
    )
    monitor_min_matured: int = Field(
        50, ge=1, description="films with a settled rating needed before realized RMSE counts"
    )
    monitor_drift_retrain: bool = Field(
        True, description="a drift statistic past its threshold also triggers training"
    )

    # Serving -----------------------------------------------------------------
    local_model_dir: str | None = None
    model_poll_seconds: float = Field(30.0, ge=0)
    admin_token: SecretStr | None = None
    max_batch_size: int = Field(1000, ge=1)
    model_compile: bool = Field(
        True, description="compile the served trees to native code (lleaves) in the background "
        "and use them once proven equal to LightGBM's outputs"
    )
    model_compile_cache_dir: str | None = Field(
        None, description="where compiled trees are cached (default: "
        "~/.cache/tmdb-serve/compiled; used only when private to the user)"
    )
    poster_base_url: str = "https://image.tmdb.org/t/p/w185"

    @classmethod
    def secret_names(cls) -> tuple[str, ...]:
        """The environment variables that hold secrets: every ``SecretStr`` setting."""
        return tuple(
            name.upper() for name, field in cls.model_fields.items() if _is_secret(field.annotation)
        )

    @classmethod
    def plain_names(cls) -> tuple[str, ...]:
        """The environment variables of every setting that is not a secret."""
        secret = set(cls.secret_names())
        return tuple(name.upper() for name in cls.model_fields if name.upper() not in secret)

    def secret_values(self) -> tuple[str, ...]:
        """The secrets set in this configuration, for the log filter to mask."""
        values = (getattr(self, name.lower()) for name in self.secret_names())
        return tuple(value.get_secret_value() for value in values if value is not None)

    @field_validator("storage_url")
    @classmethod
    def _storage_url_shape(cls, value: str) -> str:
        if value.startswith("s3://") and len(value) <= len("s3://"):
            raise ValueError("s3:// URL needs a bucket, e.g. s3://my-bucket/prefix")
        if "://" in value and not value.startswith(("s3://", "file://")):
            raise ValueError("only s3:// URLs or local directories are supported")
        return value

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> Settings:
        if self.environment == "development":
            return self
        for name in self.secret_names():
            if name.startswith("AWS_"):
                continue  # S3 credentials have no placeholder convention to check
            secret = getattr(self, name.lower())
            if secret is not None and secret.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(f"{name} holds a placeholder; set a real value")
        return self


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper() or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once; tests override via dependency injection."""
    return load_settings()
