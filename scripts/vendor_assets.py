"""Refresh the vendored front-end assets from the npm registry (run by hand, not by the app).

    python scripts/vendor_assets.py            # latest @gouvfr/dsfr 1.15.x and htmx.org 2.x
    python scripts/vendor_assets.py --dsfr 1.15.3 --htmx 2.0.11

Downloads each package's tarball, checks it against the registry's ``integrity`` (sha512),
and copies into ``app/web/static/`` only what the pages use:

- DSFR: ``dsfr.min.css`` and its print sheet, ``dsfr.module.min.js`` (no ``nomodule`` build: every
  browser an agent may have runs ES modules, and the pages work without JavaScript), the Marianne
  and Spectral fonts in WOFF2, the icons the DSFR components reference, the utility icon classes
  our templates use (``fr-icon-*``, found by scanning ``app/web/templates``: a smaller
  ``icons.css`` holding only their rules, and their SVGs), the favicons, the licence and the terms
  of use.
- htmx: ``htmx.min.js``.

Each folder gets a ``SOURCE.json`` with the package, version, tarball URL, its sha512 and sha1,
and the sha256 of every file copied. Needs only the standard library (no Node).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "app" / "web" / "static"
TEMPLATES = ROOT / "app" / "web" / "templates"

DSFR_FILES = {
    "dist/dsfr.min.css": "dsfr.min.css",
    "dist/dsfr.print.min.css": "dsfr.print.min.css",  # the day lists are printed
    "dist/dsfr.module.min.js": "dsfr.module.min.js",
    "dist/favicon/favicon.svg": "favicon/favicon.svg",
    "dist/favicon/favicon.ico": "favicon/favicon.ico",
    "dist/favicon/apple-touch-icon.png": "favicon/apple-touch-icon.png",
    "LICENSE.md": "LICENSE.md",
    "doc/legal/cgu.md": "CGU.md",  # the terms of use (who may use the State's identity)
}
# The person's page (the convocation link, read on a cheap phone): DSFR's core and the few
# components it uses, in one sheet a third the size of dsfr.min.css (docs/person-link.md).
PERSON_PARTS = (
    "dist/core/core.main.min.css",
    "dist/component/skiplink/skiplink.main.min.css",
    "dist/component/logo/logo.main.min.css",
    "dist/component/header/header.main.min.css",
    "dist/component/link/link.main.min.css",
    "dist/component/button/button.main.min.css",
    "dist/component/callout/callout.main.min.css",
    "dist/component/alert/alert.main.min.css",
    "dist/component/footer/footer.main.min.css",
)
PERSON_SHEET = "convocation.min.css"
FONT = re.compile(r"^dist/fonts/((?:Marianne|Spectral)-[A-Za-z_]+\.woff2)$")
ICON_CLASS = re.compile(r"\bfr-icon-[a-z0-9-]+\b")
CSS_ICON_URL = re.compile(r"url\((?:\.\./\.\./)?(icons/[a-z0-9_-]+/[a-z0-9_-]+\.svg)\)")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return bytes(answer.read())


def _resolve(package: str, wanted: str) -> dict[str, object]:
    """The registry's record of the newest version of ``package`` starting with ``wanted``."""
    meta = json.loads(_get(f"{REGISTRY}/{package.replace('/', '%2f')}"))
    versions = [v for v in meta["versions"] if v == wanted or v.startswith(wanted + ".")]
    stable = [v for v in versions if "-" not in v]
    if not stable:
        sys.exit(f"{package}: aucune version {wanted}.x dans le registre")
    best = max(stable, key=lambda v: tuple(int(p) for p in v.split(".")))
    return dict(meta["versions"][best])


def _download(record: dict[str, object]) -> tuple[tarfile.TarFile, dict[str, str]]:
    dist = record["dist"]
    assert isinstance(dist, dict)
    data = _get(dist["tarball"])
    algorithm, _, expected = str(dist["integrity"]).partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if digest != expected:
        sys.exit(f"{record['name']}: l'archive ne correspond pas à son empreinte {algorithm}")
    if hashlib.sha1(data).hexdigest() != dist["shasum"]:
        sys.exit(f"{record['name']}: l'archive ne correspond pas à son sha1")
    source = {
        "package": str(record["name"]),
        "version": str(record["version"]),
        "tarball": str(dist["tarball"]),
        "integrity": str(dist["integrity"]),
        "shasum": str(dist["shasum"]),
    }
    return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz"), source


def _read(archive: tarfile.TarFile, name: str) -> bytes:
    member = archive.extractfile(f"package/{name}")
    if member is None:
        sys.exit(f"{name} absent de l'archive")
    return member.read()


def _used_icon_classes() -> set[str]:
    return {c for f in TEMPLATES.rglob("*.html") for c in ICON_CLASS.findall(f.read_text())}


def _icon_rules(css: str, classes: set[str]) -> str:
    """The rules of the utility icons CSS that style one of ``classes`` (urls made relative to
    the folder's root, where the SVGs are copied)."""
    kept = []
    for rule in re.findall(r"[^{}]+\{[^{}]*\}", css.split("*/", 1)[-1]):
        selector = rule.split("{", 1)[0]
        if set(ICON_CLASS.findall(selector)) & classes:
            kept.append(CSS_ICON_URL.sub(r"url(\1)", rule))
    return "".join(kept)


def person_sheet(archive: tarfile.TarFile, version: str) -> bytes:
    """The person's page's sheet: ``PERSON_PARTS`` end to end, their urls made relative to the
    folder's root (``../fonts/`` and ``../icons/`` from dist/core, ``../../icons/`` from
    dist/component/x)."""
    parts = []
    for name in PERSON_PARTS:
        css = _read(archive, name).decode()
        for prefix in ("../fonts/", "../../icons/", "../icons/"):
            css = css.replace(f"url({prefix}", f"url({prefix.rsplit('../', 1)[-1]}")
        parts.append(css)
    banner = f"/*! DSFR v{version} | Etalab-2.0 | cœur et composants de la page de convocation */"
    return (banner + "\n" + "\n".join(parts)).encode()


def vendor_dsfr(wanted: str) -> None:
    archive, source = _download(_resolve("@gouvfr/dsfr", wanted))
    target = STATIC / "dsfr"
    shutil.rmtree(target, ignore_errors=True)
    files: dict[str, bytes] = {out: _read(archive, name) for name, out in DSFR_FILES.items()}
    for member in archive.getnames():
        if match := FONT.match(member.removeprefix("package/")):
            files[f"fonts/{match.group(1)}"] = _read(archive, f"dist/fonts/{match.group(1)}")
    classes = _used_icon_classes()
    icons_css = _icon_rules(_read(archive, "dist/utility/icons/icons.min.css").decode(), classes)
    banner = f"/*! DSFR v{source['version']} | Etalab-2.0 | icônes utilisées par Convoc */\n"
    files["icons.min.css"] = (banner + icons_css).encode()
    files[PERSON_SHEET] = person_sheet(archive, source["version"])
    for css in (files["dsfr.min.css"].decode(), icons_css):
        for svg in CSS_ICON_URL.findall(css):
            files[svg] = _read(archive, f"dist/{svg}")
    _write(target, files, source | {"icon_classes": sorted(classes)})


def vendor_htmx(wanted: str) -> None:
    archive, source = _download(_resolve("htmx.org", wanted))
    target = STATIC / "htmx"
    shutil.rmtree(target, ignore_errors=True)
    files = {
        "htmx.min.js": _read(archive, "dist/htmx.min.js"),
        "LICENSE": _read(archive, "LICENSE"),
    }
    _write(target, files, dict(source))


def _write(target: Path, files: dict[str, bytes], source: dict[str, object]) -> None:
    for name, data in sorted(files.items()):
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    source["files"] = {n: hashlib.sha256(d).hexdigest() for n, d in sorted(files.items())}
    (target / "SOURCE.json").write_text(json.dumps(source, indent=2, ensure_ascii=False) + "\n")
    size = sum(len(d) for d in files.values())
    print(f"{source['package']} {source['version']}: {len(files)} fichiers, {size // 1024} Kio")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dsfr", default="1.15", help="version ou préfixe (défaut : 1.15)")
    parser.add_argument("--htmx", default="2", help="version ou préfixe (défaut : 2)")
    args = parser.parse_args()
    vendor_dsfr(args.dsfr)
    vendor_htmx(args.htmx)


if __name__ == "__main__":
    main()
