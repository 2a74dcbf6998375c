"""bot.yaml: the embedded defaults, the documented example, and every problem at once."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import time, timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
import trustme
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from bot.errors import ConfigError
from config import (
    Config,
    CoopSettings,
    WorkingHours,
    format_duration,
    format_problems,
    load_config,
    parse_duration_setting,
    summarize,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "bot.yaml.example"
COOPS = """\
coops:
  - name: FACTTIC
    zone: America/Argentina/Buenos_Aires
"""
CONSOLE = """\
adapters:
  console: {enabled: true}
"""
MATTERMOST = """\
adapters:
  mattermost:
    enabled: true
    url: https://chat.example.coop
    token: ${MM_TOKEN}
    team: coops
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_in(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return list(caught.value.problems)


def uncomment(text: str) -> str:
    """The example with its optional sections switched in ("#  key:" lines; "# prose" stays)."""
    return re.sub(r"^#(?! \S)", "", text, flags=re.MULTILINE)


def section_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((s for arg in get_args(annotation) if (s := section_of(arg))), None)


def undocumented_keys(model: type[BaseModel], data: dict[str, Any], path: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in data:
            yield path + key
            continue
        section = section_of(field.annotation)
        if section is not None:
            items = data[key] if isinstance(data[key], list) else [data[key]]
            merged = {k: v for item in items for k, v in item.items()}
            yield from undocumented_keys(section, merged, f"{path}{key}.")


# --- defaults and the example ---------------------------------------------------------


def test_bot_runs_locally_on_the_embedded_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    assert [(c.name, c.zone) for c in config.coops] == [
        ("FACTTIC", "America/Argentina/Buenos_Aires"),
        ("CoTech", "Europe/London"),
        ("IT-Kollektiv", "Europe/Berlin"),
        ("Sassafras", "America/Detroit"),
    ]
    assert config.adapters.enabled_names == ("console",)
    assert config.storage.url == f"sqlite:///{tmp_path}/coopbot.db"
    assert (config.bot.name, config.bot.prefix, config.bot.language, config.bot.day_first) == ("coopbot", "!", "en", True)
    assert config.reminders.offset_minutes == (24 * 60, 15)
    assert config.reminders.misfire_grace == config.calls.default_duration == timedelta(hours=1)
    assert (config.server.enabled, config.server.host, config.server.port) == (False, "127.0.0.1", 8080)


def test_example_file_as_shipped_is_the_embedded_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLE.parent)  # both SQLite paths then resolve to the same file
    assert load_config(EXAMPLE) == load_config(None)


def test_example_file_documents_every_key_of_the_model() -> None:
    data = yaml.safe_load(uncomment(EXAMPLE.read_text(encoding="utf-8")))
    assert list(undocumented_keys(Config, data)) == []


def test_example_file_with_every_optional_section_switched_on_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = uncomment(EXAMPLE.read_text(encoding="utf-8"))
    for name in re.findall(r"\$\{(\w+)\}", text):
        monkeypatch.setenv(name, f"value-of-{name}")
    monkeypatch.setenv("TELEGRAM_CHAT_ID", "-1001234567890")
    data = yaml.safe_load(text)
    data["server"]["enabled"] = True  # slash commands and webhooks need it
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "coop-ca.pem"))  # the example's file, on the bot's host
    data["adapters"]["email"]["ca_file"] = str(tmp_path / "coop-ca.pem")
    config = load_config(write(tmp_path, yaml.safe_dump(data, allow_unicode=True)))
    assert config.adapters.enabled_names == ("console", "mattermost", "discourse", "telegram", "email")
    assert config.adapters.mattermost.token is not None
    assert config.adapters.mattermost.token.get_secret_value() == "value-of-MATTERMOST_TOKEN"
    assert config.adapters.email.from_ == "coopbot@example.coop"


# --- every problem at once ------------------------------------------------------------


def test_admin_sees_all_four_mistakes_at_once_with_key_value_and_expectation(tmp_path: Path) -> None:
    problems = problems_in(tmp_path, """\
bot:
  language: fr
coops:
  - name: CoTech
    zone: Europe/London
  - name: FACTTIC
    zone: Buenos Aires
reminders:
  offsets: [24h, soon]
adapters:
  console: {enabled: true}
  mattermost:
    tokn: abc
""")
    assert problems == [
        "bot.language: 'fr' is invalid; expected 'en' or 'es'",
        "coops[1].zone: 'Buenos Aires' is not a time zone; expected an IANA name such as 'America/Argentina/Buenos_Aires'",
        "reminders.offsets[1]: 'soon' is not a duration; expected a number and a unit (s, m, h, d), such as '24h', '15m' or '1h30m'",
        "adapters.mattermost.tokn: unknown key; expected one of: enabled, url, token, team, channels, "
        "announce_channel, slash_token, languages, reconnect_max_delay (did you mean 'token'?)",
    ]
    assert format_problems(ConfigError(problems)).startswith("The configuration has 4 problems:\n  - bot.language: ")


def test_enabled_adapter_names_each_missing_key_but_a_disabled_one_may_be_empty(tmp_path: Path) -> None:
    adapters = """\
  mattermost:
    enabled: true
    team: coops
  telegram:
  email: {enabled: true, smtp_host: smtp.example.coop, to: [calls@example.coop]}
"""
    assert problems_in(tmp_path, COOPS + CONSOLE + adapters) == [
        "adapters.mattermost.url: missing; expected a value, since this adapter is enabled",
        "adapters.mattermost.token: missing; expected a value, since this adapter is enabled",
        "adapters.email.from: missing; expected a value, since this adapter is enabled",
    ]


def test_config_without_any_enabled_adapter_is_refused(tmp_path: Path) -> None:
    assert problems_in(tmp_path, COOPS) == [
        "adapters: no adapter is enabled; expected 'enabled: true' under at least one of "
        "console, mattermost, discourse, telegram, email"
    ]


def test_slash_commands_are_refused_while_the_http_server_is_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MM_TOKEN", "t")
    problems = problems_in(tmp_path, COOPS + MATTERMOST + "    slash_token: s\n")
    assert problems == [
        "adapters.mattermost.slash_token: is set but server.enabled is false; "
        "expected server.enabled: true, since slash commands arrive over HTTP"
    ]


def test_two_coops_cannot_share_a_name_or_alias_ignoring_case(tmp_path: Path) -> None:
    more_coops = """\
  - name: facttic
    zone: Europe/Berlin
  - name: CoTech
    zone: Europe/London
    aliases: [UK, Facttic]
"""
    assert problems_in(tmp_path, COOPS + more_coops + CONSOLE) == [
        "coops[1].name: 'facttic' is already used by coops[0] (FACTTIC); "
        "expected coop names and aliases to be unique, ignoring case",
        "coops[2].aliases[1]: 'Facttic' is already used by coops[0] (FACTTIC); "
        "expected coop names and aliases to be unique, ignoring case",
    ]


def test_reminder_offsets_must_be_whole_minutes_and_distinct(tmp_path: Path) -> None:
    problems = problems_in(tmp_path, COOPS + CONSOLE + "reminders:\n  offsets: [1d, 24h, 90s, 0m]\n")
    assert problems == [
        "reminders.offsets[3]: '0s' is not positive; expected a duration longer than zero, such as '15m'",
    ]
    problems = problems_in(tmp_path, COOPS + CONSOLE + "reminders:\n  offsets: [1d, 24h, 90s]\n")
    assert problems == [
        "reminders.offsets[1]: '1d' repeats reminders.offsets[0]; expected each offset once",
        "reminders.offsets[2]: '1m30s' is not a whole number of minutes; expected minutes, hours or days, such as '15m'",
    ]


@pytest.mark.parametrize("written, expected", [("0", timedelta(0)), ("0s", timedelta(0)), ("2h", timedelta(hours=2))])
def test_a_proposal_reminder_may_be_turned_off_with_zero(tmp_path: Path, written: str, expected: timedelta) -> None:
    config = load_config(write(tmp_path, COOPS + CONSOLE + f"proposals:\n  remind_before: {written}\n"))
    assert config.proposals.remind_before == expected
    assert config.proposals.default_deadline == timedelta(days=7)


def test_a_proposal_reminder_that_is_no_duration_is_named(tmp_path: Path) -> None:
    assert problems_in(tmp_path, COOPS + CONSOLE + "proposals:\n  remind_before: soon\n  default_deadline: 0\n") == [
        "proposals.remind_before: 'soon' is not a duration; expected a number and a unit (s, m, h, d), "
        "such as '24h', '15m' or '1h30m'",
        "proposals.default_deadline: 0 is not a duration; expected a number and a unit (s, m, h, d), "
        "such as '24h', '15m' or '1h30m'",
    ]


@pytest.mark.parametrize("hours, complaint", [
    ("9-18", "is not a span of hours; expected 'HH:MM-HH:MM'"),
    ("09:00-24:00", "is not a span of hours"),
    ("18:00-09:00", "ends before it starts"),
])
def test_working_hours_must_read_hh_mm_and_start_before_end(tmp_path: Path, hours: str, complaint: str) -> None:
    (problem,) = problems_in(tmp_path, COOPS + f"    working_hours: '{hours}'\n" + CONSOLE)
    assert problem.startswith(f"coops[0].working_hours: '{hours}' {complaint}")


@given(st.times(), st.times())
def test_working_hours_round_trip_through_their_text(a: time, b: time) -> None:
    start, end = sorted((a.replace(second=0, microsecond=0), b.replace(second=0, microsecond=0)))
    if start < end:
        hours = WorkingHours(start, end)
        assert WorkingHours.parse(str(hours)) == hours


# --- zones ----------------------------------------------------------------------------


def test_etc_gmt_zone_is_refused_explaining_the_inverted_sign(tmp_path: Path) -> None:
    (problem,) = problems_in(tmp_path, COOPS.replace("America/Argentina/Buenos_Aires", "Etc/GMT-3") + CONSOLE)
    assert problem == (
        "coops[0].zone: 'Etc/GMT-3' is UTC+3, not UTC-3: the POSIX-style Etc/GMT zones invert the sign; "
        "expected a city zone such as 'America/Argentina/Buenos_Aires' for UTC-3, "
        "or 'Europe/Istanbul' if UTC+3 was meant"
    )


def test_bare_utc_offset_is_refused_with_a_city_zone_suggested(tmp_path: Path) -> None:
    (problem,) = problems_in(tmp_path, COOPS.replace("America/Argentina/Buenos_Aires", "UTC-5") + CONSOLE)
    assert problem.startswith("coops[0].zone: 'UTC-5' is a fixed offset, not a time zone; "
                              "expected a city zone such as 'America/New_York'")


def test_zone_is_stored_under_its_canonical_name_with_a_tzinfo(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, COOPS.replace("America/Argentina/Buenos_Aires", "europe/berlin") + CONSOLE))
    assert config.coops[0].zone == "Europe/Berlin"
    assert config.coops[0].tzinfo.zone == "Europe/Berlin"


@given(st.text(max_size=40))
def test_any_zone_text_is_accepted_or_explained_never_crashes(text: str) -> None:
    try:
        CoopSettings.model_validate({"name": "x", "zone": text})
    except ValidationError as exc:
        assert [e["type"] for e in exc.errors()] == ["coopbot_config"]


# --- environment and secrets ----------------------------------------------------------


def test_env_vars_fill_secrets_and_defaults_apply_when_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MM_TOKEN", "s3cret")
    monkeypatch.delenv("MM_TEAM", raising=False)
    text = COOPS + MATTERMOST.replace("team: coops", "team: ${MM_TEAM:-coops}") + "    announce_channel: costs-$$\n"
    mattermost = load_config(write(tmp_path, text)).adapters.mattermost
    assert mattermost.token is not None and mattermost.token.get_secret_value() == "s3cret"
    assert (mattermost.team, mattermost.announce_channel) == ("coops", "costs-$")


def test_unset_env_var_without_default_names_the_key_and_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MM_TOKEN", raising=False)
    assert problems_in(tmp_path, COOPS + MATTERMOST) == [
        "adapters.mattermost.token: ${MM_TOKEN} is not set in the environment; "
        "expected MM_TOKEN to be set, or a default as in ${MM_TOKEN:-value}"
    ]


def test_secrets_never_appear_in_repr_or_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MM_TOKEN", "tok-ABC123")
    monkeypatch.setenv("DB_PASSWORD", "pw-XYZ789")
    text = COOPS + MATTERMOST + "storage:\n  url: postgresql://coopbot:${DB_PASSWORD}@db.example.coop/coopbot\n"
    config = load_config(write(tmp_path, text))
    assert config.storage.url == "postgresql://coopbot:pw-XYZ789@db.example.coop/coopbot"
    for shown in (repr(config), str(config), summarize(config)):
        assert "tok-ABC123" not in shown and "pw-XYZ789" not in shown
    assert "postgresql://coopbot:***@db.example.coop/coopbot" in summarize(config)


def test_a_problem_with_a_secret_key_masks_its_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MM_TOKEN", "t")
    (problem,) = problems_in(tmp_path, COOPS + MATTERMOST + "    slash_token: [hunter2]\n")
    assert problem == "adapters.mattermost.slash_token: '**********' is invalid; expected text"


# --- files ----------------------------------------------------------------------------


@pytest.mark.parametrize("url, expected", [
    ("sqlite:///data/bot.db", "sqlite:///{dir}/data/bot.db"),
    ("sqlite+aiosqlite:///bot.db?timeout=5", "sqlite+aiosqlite:///{dir}/bot.db?timeout=5"),
    ("sqlite:////var/lib/coopbot.db", "sqlite:////var/lib/coopbot.db"),
    ("sqlite:///:memory:", "sqlite:///:memory:"),
    ("postgresql://db/coopbot", "postgresql://db/coopbot"),
])
def test_relative_sqlite_path_resolves_against_the_config_files_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.chdir("/")  # not the working directory
    folder = tmp_path / "etc"
    folder.mkdir()
    config = load_config(write(folder, COOPS + CONSOLE + f"storage:\n  url: '{url}'\n"))
    assert config.storage.url == expected.format(dir=folder)


def test_default_sqlite_file_sits_next_to_a_config_without_storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    assert load_config(write(tmp_path, COOPS + CONSOLE)).storage.url == f"sqlite:///{tmp_path}/coopbot.db"


def test_missing_file_is_reported_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert caught.value.problems == (
        f"{tmp_path / 'nope.yaml'}: no such file; expected a YAML configuration such as a copy of bot.yaml.example",
    )


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    (problem,) = problems_in(tmp_path, COOPS + "adapters:\n  console: {enabled: true\n")
    assert problem.startswith(f"{tmp_path / 'bot.yaml'}: line 6, column 1: not valid YAML:")


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path: Path) -> None:
    (problem,) = problems_in(tmp_path, COOPS + CONSOLE + "adapters:\n  telegram: {enabled: false}\n")
    assert problem.startswith(f"{tmp_path / 'bot.yaml'}: line 6, column 1: not valid YAML: "
                              "the key 'adapters' appears twice (first on line 4)")


def test_summary_fits_one_screen_with_coops_adapters_and_storage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    summary = summarize(load_config(None))
    assert "  FACTTIC       America/Argentina/Buenos_Aires  09:00-18:00  es  Buenos Aires" in summary.splitlines()
    assert f"storage:   sqlite:///{tmp_path}/coopbot.db" in summary.splitlines()
    assert "adapters:\n  console\n" in summary
    assert len(summary.splitlines()) < 25


def test_member_can_name_a_coop_by_alias_in_any_case(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    found = config.find_coop("sassafras tech collective")
    assert found is not None and found.zone == "America/Detroit"
    assert config.find_coop("nobody") is None


# --- durations ------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("24h", timedelta(hours=24)), ("15m", timedelta(minutes=15)), ("1d", timedelta(days=1)),
    ("1h30m", timedelta(hours=1, minutes=30)), ("30s", timedelta(seconds=30)), ("1H 5M", timedelta(minutes=65)),
])
def test_duration_setting_reads_units_and_combinations(text: str, expected: timedelta) -> None:
    assert parse_duration_setting(text) == expected


@given(st.integers(min_value=0, max_value=10**9).map(lambda s: timedelta(seconds=s)))
def test_duration_round_trips_through_its_text(duration: timedelta) -> None:
    assert parse_duration_setting(format_duration(duration)) == duration


@given(st.text(max_size=30))
def test_unreadable_duration_raises_value_error_naming_it(text: str) -> None:
    try:
        parse_duration_setting(text)
    except ValueError as exc:
        assert repr(text) in str(exc)


# --- the digest and Telegram ------------------------------------------------------------------

TELEGRAM = """\
  telegram:
    enabled: true
    token: "123456:abc"
    chat_id: -1001234567890
"""


def test_an_update_destination_that_is_not_enabled_is_named(tmp_path: Path) -> None:
    (problem,) = problems_in(tmp_path, COOPS + CONSOLE + "digest:\n  updates: [console, mattermost]\n")
    assert problem.endswith("digest.updates[1]: 'mattermost' is not an enabled adapter; expected one of console")
    (problem,) = problems_in(tmp_path, COOPS + CONSOLE + "digest:\n  updates: [signal]\n")
    assert "digest.updates[0]" in problem and "'signal'" in problem


def test_telegram_reads_a_numeric_chat_id_and_defaults_to_the_official_api(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, COOPS + CONSOLE + TELEGRAM))
    telegram = config.adapters.telegram
    assert (telegram.chat_id, telegram.api_url, telegram.language) == (
        "-1001234567890", "https://api.telegram.org", None)
    assert "123456:abc" not in repr(config)


@pytest.mark.parametrize("chat_id", ["council chat", "@ab", "https://t.me/coopcouncil"])
def test_a_telegram_chat_that_cannot_be_one_is_named(tmp_path: Path, chat_id: str) -> None:
    (problem,) = problems_in(tmp_path, COOPS + CONSOLE + TELEGRAM.replace("-1001234567890", f"'{chat_id}'"))
    assert f"adapters.telegram.chat_id: {chat_id!r} is not a Telegram chat; expected a chat id" in problem


EMAIL = """\
  email:
    enabled: true
    smtp_host: smtp.example.coop
    from: coopbot@example.coop
    to: [council@lists.example.coop]
"""


def test_email_defaults_to_starttls_on_587_and_the_digest_to_no_schedule(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, COOPS + CONSOLE + EMAIL))
    email = config.adapters.email
    assert (email.smtp_port, email.security, email.username, email.language) == (587, "starttls", None, None)
    assert (config.digest.schedule, config.digest.misfire_grace) == (None, timedelta(hours=6))


def test_an_email_login_needs_both_halves_and_a_known_security(tmp_path: Path) -> None:
    problems = problems_in(tmp_path, COOPS + CONSOLE + EMAIL + "    username: bot\n    security: ssl\n")
    assert any("adapters.email.security: 'ssl'" in p and "'starttls', 'tls' or 'none'" in p for p in problems)
    problems = problems_in(tmp_path, COOPS + CONSOLE + EMAIL + "    username: bot\n")
    assert problems[-1].endswith("adapters.email.password: missing; expected a value, since username is set")


def test_the_digest_schedule_reads_a_weekday_or_daily_a_time_and_a_zone(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, COOPS + CONSOLE + "digest:\n  schedule: Monday 9:00 Europe/London\n"
                                         "  misfire_grace: 2h\n"))
    assert str(config.digest.schedule) == "monday 09:00 Europe/London"
    assert config.digest.misfire_grace == timedelta(hours=2)
    config = load_config(write(tmp_path, COOPS + CONSOLE + "digest:\n  schedule: diario 18:30 UTC\n"))
    assert str(config.digest.schedule) == "daily 18:30 UTC"
    config = load_config(write(tmp_path, COOPS + CONSOLE + "digest:\n  schedule: miércoles 08:00 Europe/Berlin\n"))
    assert str(config.digest.schedule) == "wednesday 08:00 Europe/Berlin"  # the chat's weekday words


@pytest.mark.parametrize(("written", "complaint"), [
    ("monday 09:00", "is not a weekly time; expected a weekday (or 'daily'), a 24-hour time and a zone"),
    ("someday 09:00 UTC", "is not a weekly time"),
    ("monday 24:00 UTC", "is not a weekly time"),
    ("monday 09:00 GMT-3", "'GMT-3' is a fixed offset, not a time zone; expected a city zone such as "
                           "'America/Argentina/Buenos_Aires' for UTC-3"),
    ("monday 09:00 Etc/GMT-3", "'Etc/GMT-3' is UTC+3, not UTC-3"),
])
def test_a_digest_schedule_that_cannot_be_read_is_named(tmp_path: Path, written: str, complaint: str) -> None:
    (problem,) = problems_in(tmp_path, COOPS + CONSOLE + f"digest:\n  schedule: {written}\n")
    assert problem.startswith("digest.schedule: ") and complaint in problem


def test_an_email_ca_file_resolves_against_the_config_and_must_hold_certificates(tmp_path: Path) -> None:
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "coop-ca.pem"))
    config = load_config(write(tmp_path, COOPS + CONSOLE + EMAIL + "    ca_file: coop-ca.pem\n"))
    assert config.adapters.email.ca_file == str(tmp_path / "coop-ca.pem")
    (problem,) = problems_in(tmp_path, COOPS + CONSOLE + EMAIL + "    ca_file: missing.pem\n")
    assert problem.endswith("adapters.email.ca_file: 'missing.pem' is not a file; expected the path of a PEM file "
                            "of CA certificates")
    (tmp_path / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (problem,) = problems_in(tmp_path, COOPS + CONSOLE + EMAIL + "    ca_file: broken.pem\n")
    assert "adapters.email.ca_file: 'broken.pem' holds no certificate TLS can read (" in problem


def test_the_smtp_port_follows_the_security_and_a_mismatch_is_named(tmp_path: Path) -> None:
    ports = {security: load_config(write(tmp_path, COOPS + CONSOLE + EMAIL + f"    security: {security}\n"))
             .adapters.email.smtp_port for security in ("starttls", "tls", "none")}
    assert ports == {"starttls": 587, "tls": 465, "none": 25}
    (problem,) = problems_in(tmp_path, COOPS + CONSOLE + EMAIL + "    smtp_port: 465\n")
    assert problem.endswith("adapters.email.security: 'starttls' does not fit port 465, which speaks TLS from the "
                            "first byte; expected tls there, or port 587 for starttls")
    (problem,) = problems_in(tmp_path, COOPS + CONSOLE + EMAIL + "    security: tls\n    smtp_port: 587\n")
    assert "adapters.email.security: 'tls' does not fit port 587" in problem


def test_a_password_is_never_sent_unencrypted_beyond_this_host(tmp_path: Path) -> None:
    login = "    username: coopbot\n    password: secret\n    security: none\n"
    (problem,) = problems_in(tmp_path, COOPS + CONSOLE + EMAIL + login)
    assert problem.endswith("adapters.email.security: 'none' would send the password unencrypted to "
                            "smtp.example.coop; expected starttls or tls, or none only for a relay on this host "
                            "(localhost)")
    relay = EMAIL.replace("smtp.example.coop", "localhost") + login
    assert load_config(write(tmp_path, COOPS + CONSOLE + relay)).adapters.email.smtp_port == 25


@pytest.mark.parametrize("address", ["coopbot@exämple.coop", "ñandú@example.coop"])
def test_an_address_must_be_ascii(tmp_path: Path, address: str) -> None:
    (problem,) = problems_in(tmp_path, COOPS + CONSOLE + EMAIL.replace("coopbot@example.coop", address))
    assert problem.endswith(f"adapters.email.from: {address!r} is not an ASCII address; expected one such as "
                            "'coopbot@example.coop' (a domain with accents in its xn-- form)")
