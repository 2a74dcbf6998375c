"""coopbot's configuration: ``bot.yaml`` loaded into frozen, typed settings.

    from config import load_config
    config = load_config("bot.yaml")        # or None for the embedded defaults
    config.coops[0].tzinfo, config.adapters.enabled_names

Every problem is reported at once in one :class:`bot.errors.ConfigError`.
"""
from .loader import format_problems, load_config, parse_config, summarize
from .model import (
    AdapterSettings,
    BotSettings,
    CallSettings,
    Config,
    ConsoleSettings,
    CoopSettings,
    DiscourseSettings,
    DiscourseWatch,
    EmailSettings,
    Language,
    MattermostSettings,
    ReminderSettings,
    ServerSettings,
    StorageSettings,
    TelegramSettings,
    WorkingHours,
    format_duration,
    mask_url,
    parse_duration_setting,
)

__all__ = [
    "AdapterSettings",
    "BotSettings",
    "CallSettings",
    "Config",
    "ConsoleSettings",
    "CoopSettings",
    "DiscourseSettings",
    "DiscourseWatch",
    "EmailSettings",
    "Language",
    "MattermostSettings",
    "ReminderSettings",
    "ServerSettings",
    "StorageSettings",
    "TelegramSettings",
    "WorkingHours",
    "format_duration",
    "format_problems",
    "load_config",
    "mask_url",
    "parse_config",
    "parse_duration_setting",
    "summarize",
]
