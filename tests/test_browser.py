"""The built book in a real browser: every page of ``_build/html``, served from 127.0.0.1 with no
other network, opened in headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by
selenium through ``/usr/bin/chromedriver``). On each page MathJax must have typeset every formula
(no raw TeX left in the text, no MathJax error node), every image must load, no printed output may
scroll sideways in a laptop-sized window, and every internal
link must resolve, anchors included. A second test feeds the checker a page with a broken formula,
a missing image and dead links, and checks that it reports each of them."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import re
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER and importlib.util.find_spec("selenium")),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; "
           "`make test` tries this as root) and selenium (pip install -e '.[test]')",
)

# Raw TeX that should not reach a reader: \( \) \[ \] delimiters, $$, $...$ around a formula, or a
# command (\frac, \mathcal, or a \cite left in a bibliography note). Code and math are skipped.
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\$[^\s$][^$\n]*\$|\\[A-Za-z]{2,}")

PAGE_REPORT = """
const done = arguments[arguments.length - 1];
(async () => {
  const hasMath = document.querySelector('.math, .tex2jax_process, .mathjax_process') !== null;
  if (hasMath) {
    // MathJax loads deferred: wait for its startup, then for the first typeset to finish.
    for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
      await new Promise(r => setTimeout(r, 50));
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  }
  const images = [...document.images];
  await Promise.all(images.map(img => { img.loading = 'eager'; return img.decode().catch(() => null); }));
  const rawTex = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest('script, style, pre, code, textarea, mjx-container')
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  while (walker.nextNode()) rawTex.push(walker.currentNode.textContent);
  done({
    hasMath,
    mathjax: !!(window.MathJax && MathJax.startup && MathJax.startup.promise),
    containers: document.querySelectorAll('mjx-container').length,
    errors: [...document.querySelectorAll('mjx-merror, [data-mjx-error], merror')]
      .map(e => e.getAttribute('data-mjx-error') || e.textContent),
    text: rawTex,
    brokenImages: images.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    // printed output that scrolls sideways: its widest line, for the report
    wide: [...document.querySelectorAll('.cell_output pre')]
      .filter(p => p.offsetParent !== null && p.scrollWidth > p.clientWidth + 1)
      .map(p => p.textContent.split('\\n').reduce((a, b) => (b.length > a.length ? b : a), '')),
  });
})();
"""


#: The browser window the pages are read in: a laptop screen, where the theme shows the sidebar.
WINDOW = (1366, 900)


class _Anchors(HTMLParser):
    """Every id (and legacy ``<a name>``) of a page: the targets a ``#fragment`` may point at."""

    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.ids.update(v for k, v in attrs.items() if k == "id" or (k == "name" and tag == "a"))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@functools.lru_cache(maxsize=None)
def _fetch(url: str) -> tuple[int, frozenset]:
    """HTTP status of a local URL and the anchors of its page."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read().decode("utf-8", "replace")
            parser = _Anchors()
            if response.headers.get_content_type() == "text/html":
                parser.feed(body)
            return response.status, frozenset(parser.ids)
    except urllib.error.HTTPError as exc:
        return exc.code, frozenset()


def browser(user_data_dir: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", f"--user-data-dir={user_data_dir}",
                 # no network but the local server: every other host name fails to resolve
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    driver.set_page_load_timeout(30)
    driver.set_window_size(*WINDOW)
    return driver


def check_site(html_dir: Path, user_data_dir: Path) -> dict[str, tuple[int, list[str]]]:
    """Open every page of ``html_dir`` in Chromium; return {page: (formulas typeset, problems)}."""
    handler = functools.partial(_Quiet, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    _fetch.cache_clear()
    pages = sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html")
                   if not p.relative_to(html_dir).parts[0].startswith("_"))
    driver = browser(user_data_dir)
    report = {}
    try:
        for page in pages:
            driver.get(base + page)
            found = driver.execute_async_script(PAGE_REPORT)
            report[page] = (found["containers"], _page_problems(found, base))
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()
    return report


def _page_problems(found: dict, base: str) -> list[str]:
    problems = []
    if found["hasMath"] and not found["mathjax"]:
        problems.append("MathJax did not load")
    if found["hasMath"] and found["containers"] == 0:
        problems.append("page has math but MathJax typeset no formula (no mjx-container)")
    problems += [f"MathJax error: {e}" for e in found["errors"]]
    for text in found["text"]:
        if match := RAW_TEX.search(text):
            problems.append(f"raw TeX left in the text: {text[max(match.start() - 30, 0):match.end() + 30]!r}")
    problems += [f"image does not load: {src}" for src in found["brokenImages"]]
    problems += [f"output wider than the page: {line[:100]!r}" for line in found["wide"]]
    for link in sorted(set(found["links"])):
        if not link.startswith(base):
            continue  # external (Colab, GitHub): not reachable here, checked in the HTML tests
        url, _, anchor = link.partition("#")
        status, anchors = _fetch(url)
        if status != 200:
            problems.append(f"link {link} answers {status}")
        elif anchor and urllib.parse.unquote(anchor) not in anchors:
            problems.append(f"link {link}: no anchor #{anchor} on that page")
    return problems


def test_every_page_typesets_loads_and_links(built_book, tmp_path):
    assert sorted(built_book.rglob("*.html")), "the book has no pages"
    report = check_site(built_book, tmp_path / "chromium")
    assert "book/token_tree.html" in report and report["book/token_tree.html"][0] > 10
    problems = [f"{page}: {problem}" for page, (_, found) in report.items() for problem in found]
    assert not problems, "\n".join(problems)


def test_checker_reports_broken_math_images_and_links(tmp_path):
    """A page that is wrong in every way the checker looks for, beside one that is right."""
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    site = tmp_path / "site"
    shutil.copytree(Path(spec.origin).parent / "static" / "mathjax", site / "mathjax")
    head = ("<script>window.MathJax = {options: {processHtmlClass: 'math'}};</script>"
            "<script defer src='mathjax/tex-chtml.js'></script>")
    (site / "good.html").write_text(
        f"<html><head>{head}</head><body class='tex2jax_ignore'><p id='top'>A formula "
        r"<span class='math'>\(\frac{1}{2}\)</span>, a <a href='bad.html#top'>link</a>.</p></body></html>")
    (site / "bad.html").write_text(
        f"<html><head>{head}</head><body class='tex2jax_ignore'><p id='top'>Broken: "
        # unbalanced: MathJax finds no closing delimiter and leaves the TeX as text
        r"<span class='math'>\(\frac{1}{2\)</span>; a TeX error: <span class='math'>\(\frac{1}\)</span>; "
        "never typeset: $x^2$."
        "<img src='missing.png'><a href='nowhere.html'>dead</a> <a href='good.html#nope'>no anchor</a>"
        "</p></body></html>")
    report = check_site(site, tmp_path / "chromium")
    assert report["good.html"] == (1, [])
    report = "\n".join(report["bad.html"][1])
    assert "MathJax error: " in report and "Missing argument for \\frac" in report
    assert "raw TeX left in the text: " in report and "frac{1}{2" in report and "$x^2$" in report
    assert "image does not load" in report and "missing.png" in report
    assert "nowhere.html answers 404" in report
    assert "no anchor #nope" in report
