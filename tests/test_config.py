"""Configuration: lookup order, secrets from the environment, errors that name the key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from meterwise.config.errors import ConfigError
from meterwise.config.settings import find_config, load_settings, parse_settings
from tests.conftest import base_config


def test_builtin_demo_config_loads_when_nothing_else_is_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, {})
    assert settings.source == "built-in demo config"
    assert settings.accounts["demo"].plan == "jaas-basic"


def test_lookup_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_config(None, {}) is None
    (tmp_path / "meterwise.toml").write_text("")
    assert find_config(None, {}) == Path("meterwise.toml")
    assert find_config(None, {"METERWISE_CONFIG": "/x.toml"}) == Path("/x.toml")
    assert find_config("/y.toml", {"METERWISE_CONFIG": "/x.toml"}) == Path("/y.toml")


def test_secrets_come_from_the_environment(db_path):
    settings = parse_settings(base_config(db_path), {"ACME_WHSEC_2": "whsec_env"}, "t")
    assert settings.accounts["acme"].webhook_secrets[1] == "whsec_env"


@pytest.mark.parametrize(
    "change,key",
    [
        ({"webhook_secrets": ["env:NOPE"]}, "accounts.acme.webhook_secrets[0]"),
        ({"plan": "jaas-gold"}, "accounts.acme.plan"),
        ({"plan": "cometchat-1k"}, "accounts.acme.plan"),
        ({"timezone": "Mars/Olympus"}, "accounts.acme.timezone"),
        ({"cycle_anchor": "2026-13-01"}, "accounts.acme.cycle_anchor"),
        ({"signature_tolerance_s": 0}, "accounts.acme.signature_tolerance_s"),
        ({"provider": "zoom"}, "accounts.acme.provider"),
        ({"colour": "blue"}, "accounts[0].colour"),
        ({"plan_changes": [{"plan": "jaas-standard"}]}, "accounts.acme.plan_changes[0]"),
        ({"cost_per_mau": 0.25}, "accounts.acme.cost_per_mau"),
    ],
)
def test_a_bad_account_key_is_named(db_path, change, key):
    with pytest.raises(ConfigError) as info:
        parse_settings(base_config(db_path, **change), {"ACME_WHSEC_2": "x"}, "t")
    assert info.value.key == key
    assert key in str(info.value)


def test_plans_can_be_overridden_and_defined(db_path):
    doc = base_config(db_path, plan="acme-contract")
    doc["plans"] = {
        "jaas-basic": {"price": "89.00", "overage_rates": {"mau": "0.80"}},
        "acme-contract": {
            "extends": "jaas-standard",
            "price": "450.00",
            "allowances": {"mau": 2000},
        },
    }
    settings = parse_settings(doc, {"ACME_WHSEC_2": "x"}, "t")
    basic = settings.catalog.get("jaas-basic")
    assert (basic.price, basic.overage_rates["mau"], basic.allowance("mau")) == (
        Decimal("89.00"),
        Decimal("0.80"),
        300,
    )
    assert basic.usage_rates["recording_minutes"] == Decimal("0.01")  # untouched keys stay
    contract = settings.catalog.get("acme-contract")
    assert (contract.price, contract.allowance("mau"), contract.provider) == (
        Decimal("450.00"),
        2000,
        "jaas",
    )


@pytest.mark.parametrize(
    "plans,key",
    [
        ({"x": {"provider": "jaas"}}, "plans.x.price"),
        ({"x": {"provider": "jaas", "price": 1.5}}, "plans.x.price"),
        ({"x": {"extends": "nope", "price": "1"}}, "plans.x.extends"),
        (
            {"x": {"provider": "jaas", "price": "1", "allowances": {"mau": -1}}},
            "plans.x.allowances.mau",
        ),
    ],
)
def test_a_bad_plan_key_is_named(db_path, plans, key):
    doc = base_config(db_path)
    doc["plans"] = plans
    with pytest.raises(ConfigError) as info:
        parse_settings(doc, {"ACME_WHSEC_2": "x"}, "t")
    assert info.value.key == key


def test_cometchat_allows_five_percent_concurrency():
    from meterwise.config.plans import load_catalog

    assert load_catalog().get("cometchat-1k").allowance("pcc") == 50


def test_invalid_toml_is_reported(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[storage\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(str(path), {})


def provider_account(db_path, provider, plan, **extra):
    doc = base_config(db_path)
    doc["accounts"] = [
        {"id": "p", "provider": provider, "plan": plan, "cycle_anchor": "2026-03-01", **extra}
    ]
    return doc


@pytest.mark.parametrize(
    "provider,plan,extra,key,problem",
    [
        ("cometchat", "cometchat-1k", {}, "accounts.p.options.basic_auth_user", "required"),
        (
            "cometchat",
            "cometchat-1k",
            {"options": {"basic_auth_user": "u", "basic_auth_password": "env:NOPE"}},
            "accounts.p.options.basic_auth_password",
            "NOPE is not set",
        ),
        (
            "cometchat",
            "cometchat-1k",
            {"options": {"basic_auth_user": "u", "basic_auth_password": "p", "count_device": 1}},
            "accounts.p.options.count_device",
            "unknown option",
        ),
        (
            "cometchat",
            "cometchat-1k",
            {
                "options": {
                    "basic_auth_user": "u",
                    "basic_auth_password": "p" * 12,
                    "connection_idle_timeout_s": True,
                }
            },
            "accounts.p.options.connection_idle_timeout_s",
            "must be a whole number",
        ),
        ("wll", "wll-standard", {}, "accounts.p.options.secret", "required"),
        (
            "wll",
            "wll-standard",
            {"options": {"secret": "s" * 16, "system_event_types": ["A", 1]}},
            "accounts.p.options.system_event_types",
            "list of strings",
        ),
        ("events", "events-standard", {}, "accounts.p.webhook_secrets", "needs one"),
        (
            "events",
            "events-standard",
            {"webhook_secrets": ["whsec_" + "A" * 24], "options": {"pseudonymize": True}},
            "accounts.p.options.pseudonymize_key",
            "required when pseudonymize",
        ),
        ("wll", "jaas-basic", {"options": {"secret": "s"}}, "accounts.p.plan", "jaas plan"),
    ],
)
def test_provider_options_are_checked_at_start(db_path, provider, plan, extra, key, problem):
    with pytest.raises(ConfigError) as info:
        parse_settings(provider_account(db_path, provider, plan, **extra), {}, "t")
    assert info.value.key == key
    assert problem in str(info.value)


def test_provider_options_get_their_defaults(db_path):
    doc = provider_account(db_path, "wll", "wll-standard", options={"secret": "env:WLL"})
    account = parse_settings(doc, {"WLL": "s3cret-s3cret-s3cret"}, "t").accounts["p"]
    assert account.options == {
        "header_name": "X-Meterwise-Secret",
        "secret": "s3cret-s3cret-s3cret",
        "system_event_types": ["AUDIENCE_JOINED", "AUDIENCE_LEFT"],
    }


def test_the_provider_registries_agree():
    from meterwise.config.options import schemas
    from meterwise.receiver.providers import PROVIDERS as RECEIVERS
    from meterwise.reconciler.providers import PROVIDERS as METERED

    assert set(schemas()) == set(RECEIVERS) == {"jaas", "cometchat", "wll", "events"}
    assert set(METERED) <= set(RECEIVERS)  # a provider metering MAU only needs no entry
    assert {plan.provider for plan in load_settings(None, {}).catalog.plans.values()} == set(
        RECEIVERS
    )
