"""The leaderboard page in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright, which
uses that system browser (`executable_path`, nothing downloaded).

    python tests/page_browser.py results/shapes/leaderboard.html docs/page   # the checks, plus screenshots

`check_page` opens the page at 1400 × 900 and returns what a reader would notice: horizontal overflow, images that
did not load, console errors, the method column's position, and for every column of every table the order after
one click and after a second click.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

READ_TABLES = """() => [...document.querySelectorAll('table.lb')].map(t => ({
  head: [...t.tHead.rows[0].cells].map(c => c.textContent),
  rows: [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent.trim()))}))"""


def browser_available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


def check_page(page_file: Path, screenshots: Path | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    found = {"console_errors": [], "sorts": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("console", lambda m: m.type == "error" and found["console_errors"].append(m.text))
        page.on("pageerror", lambda e: found["console_errors"].append(str(e)))
        page.goto(Path(page_file).resolve().as_uri())
        page.wait_for_load_state("load")
        found["scroll_width"] = page.evaluate("document.documentElement.scrollWidth")
        found["viewport_width"] = page.evaluate("window.innerWidth")
        found["images"] = page.evaluate("[...document.images].map(i => [i.alt, i.complete && i.naturalWidth > 0])")
        found["sticky"] = page.evaluate("[...document.querySelectorAll('table.lb td:first-child')]"
                                        ".every(td => getComputedStyle(td).position === 'sticky')")
        found["galleries"] = page.evaluate("[...document.querySelectorAll('details.gallery')].map(d => ({"
                                           "summary: d.querySelector('summary').textContent, "
                                           "images: [...d.querySelectorAll('img')].map(i => i.alt)}))")
        if found["galleries"]:  # opened, its images must show (a closed <details> hides them)
            page.locator("details.gallery summary").first.click()
            found["gallery_open_height"] = page.locator("details.gallery img").first.evaluate(
                "i => i.getBoundingClientRect().height")
        tables = page.evaluate(READ_TABLES)
        found["tables"] = tables
        if screenshots is not None:
            screenshots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshots / "top.png"))
        for t, table in enumerate(tables):
            header = page.locator("table.lb").nth(t).locator("thead th")
            for c in range(len(table["head"])):
                orders = []
                for _ in range(2):
                    header.nth(c).click()
                    orders.append([r[c] for r in page.evaluate(READ_TABLES)[t]["rows"]])
                indicator = header.nth(c).evaluate("h => getComputedStyle(h, '::after').content")
                by_locale = page.evaluate("xs => xs.every((x, i) => i === 0 || xs[i - 1].localeCompare(x) <= 0)",
                                          orders[0])
                found["sorts"].append({"table": t, "column": c, "head": table["head"][c], "orders": orders,
                                       "indicator": indicator, "text_ascending": by_locale})
        if screenshots is not None:
            header = page.locator("table.lb").first.locator("thead th")
            header.nth(len(tables[0]["head"]) // 2).click()
            page.locator("table.lb").first.evaluate("t => t.parentElement.scrollLeft = 10000")
            page.screenshot(path=str(screenshots / "sorted_scrolled.png"))
        browser.close()
    return found


def sort_key(cell: str, numeric: bool):
    """How a column should be ordered: numbers by value (a leading number: `19.4 ± 0.3`), missing ones last."""
    if not numeric:
        return (0, cell)
    try:
        return (0, float(cell.split()[0].rstrip("*")))
    except (ValueError, IndexError):
        return (1, 0.0)


def ordered(values: list[str], numeric: bool, descending: bool) -> bool:
    present = [sort_key(v, numeric) for v in values]
    if numeric:
        numbers = [k[1] for k in present if k[0] == 0]
        missing_last = all(k[0] == 1 for k in present[len(numbers):])
        return missing_last and numbers == sorted(numbers, reverse=descending)
    return [k[1] for k in present] == sorted((k[1] for k in present), reverse=descending)


if __name__ == "__main__":
    result = check_page(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
    print({k: v for k, v in result.items() if k not in ("sorts", "tables")})
