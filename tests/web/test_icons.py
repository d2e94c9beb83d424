"""Every DSFR icon class a template uses (``fr-icon-*``) is styled by the vendored CSS, and the
SVG it points to is there: the vendored ``icons.min.css`` holds only the icons the templates
used when it was made (``scripts/vendor_assets.py``), so an icon added to a template since shows
nothing until the assets are vendored again. No server needed: the files themselves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "app" / "web" / "templates"
DSFR = ROOT / "app" / "web" / "static" / "dsfr"
# An icon, not a size modifier (``fr-icon--sm``).
ICON = re.compile(r"\bfr-icon-[a-z0-9][a-z0-9-]*\b")


def _used() -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for template in sorted(TEMPLATES.rglob("*.html")):
        for name in ICON.findall(template.read_text()):
            used.setdefault(name, []).append(template.relative_to(TEMPLATES).as_posix())
    return used


def _rule(css: str, name: str) -> str | None:
    """The declarations of the rule whose selector styles ``name``'s pseudo-element."""
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        if re.search(rf"\.{re.escape(name)}::?(before|after)\b", selector):
            return body
    return None


def test_every_icon_a_template_uses_is_in_the_vendored_css_with_its_svg() -> None:
    css = (DSFR / "icons.min.css").read_text() + (DSFR / "dsfr.min.css").read_text()
    used = _used()
    assert used, "aucune icône trouvée : le motif ne lit plus les gabarits"
    missing = {name: where for name, where in used.items() if _rule(css, name) is None}
    assert not missing, f"icônes absentes du DSFR embarqué (scripts/vendor_assets.py) : {missing}"
    for name in used:
        body = _rule(css, name) or ""
        for svg in re.findall(r"url\(([^)]+\.svg)\)", body):
            assert (DSFR / svg.strip("\"'")).is_file(), f"{name} : {svg} absent"
