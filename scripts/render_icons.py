"""Renders static/favicon.svg to the PNG icons beside it (32 px favicon, 180 px apple-touch-icon) with the
headless Chromium the browser tests use. Run after editing the SVG:

    python scripts/render_icons.py
"""
from __future__ import annotations

import base64
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser.helpers import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def main() -> None:
    from playwright.sync_api import sync_playwright

    svg = (ROOT / "static" / "favicon.svg").read_bytes()
    src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for size, name in ((32, "favicon-32.png"), (180, "apple-touch-icon.png")):
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(f'<body style="margin:0"><img src="{src}" width="{size}" height="{size}"></body>')
            page.screenshot(path=str(ROOT / "static" / name), omit_background=True)
        browser.close()


if __name__ == "__main__":
    main()
