"""The portal's labels: every locale has every key English has, and every key the app names exists."""

from __future__ import annotations

import json
import re

from tests.conftest import ROOT

STRINGS = ROOT / "web" / "src" / "strings"
SOURCES = ROOT / "web" / "src"


def keys(locale: str) -> set[str]:
    return set(json.loads((STRINGS / f"{locale}.json").read_text()))


def test_every_locale_has_every_label():
    english = keys("en")
    for path in STRINGS.glob("*.json"):
        assert keys(path.stem) == english, path.name


def test_every_label_the_app_names_exists():
    named = {m for path in SOURCES.rglob("*.tsx") for m in re.findall(r'\bt\("([\w.]+)"', path.read_text())}
    named |= {m for path in SOURCES.rglob("*.tsx") for m in re.findall(r'"((?:app|common|market|wizard|connect|configure|'
                                                                      r'activate|manage|detail|remove|interval)\.[\w.]+)"',
                                                                      path.read_text())}
    assert named and named <= keys("en"), named - keys("en")
    for status in ("Paused", "Active", "Stopping", "Stopped", "Errored"):
        assert f"status.{status}" in keys("en")
    for run in ("Running", "Succeeded", "Failed", "Cancelled"):
        assert f"run.{run}" in keys("en")
