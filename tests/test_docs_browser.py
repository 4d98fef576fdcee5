"""The documentation site (`make docs` → _docs/) in a real browser (headless Chromium), as a reader finds it: the front page,
the reading order followed by its "next" links to 07_train, run_recipe's API entry reached from the notebook, a search
for "audit"; then every page of the site: no console error, no failed request, every image loaded, every internal
link (and its #anchor) reaching a page of the site, and every mermaid diagram drawn as SVG by the site's own script.
Opt-in: STS_STUDY_BROWSER=1, with /usr/bin/chromium and the Python playwright package (`pip install -e .[browser]`;
playwright's own browser download is not used), on a site built first (`make docs-test` builds it and runs this)."""
import functools, http.server, importlib.util, json, os, re, threading
from pathlib import Path
from urllib.parse import urljoin, urlsplit
import pytest
from conftest import ROOT

CHROMIUM = Path('/usr/bin/chromium')
# without these a headless Chromium on a closed network hangs on its own connections (as in test_lab_browser.py)
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']
SITE = Path(os.environ.get('STS_STUDY_DOCS', ROOT/'_docs'))

def _skip_reason():
    if not os.environ.get('STS_STUDY_BROWSER'): return 'opt-in: set STS_STUDY_BROWSER=1 (the documentation site in headless Chromium)'
    if not CHROMIUM.exists(): return f'no Chromium at {CHROMIUM} (apt-get install chromium)'
    if importlib.util.find_spec('playwright') is None: return 'the playwright package is not installed (pip install -e .[browser])'
    if not (SITE/'index.html').exists(): return f'no site at {SITE}: build it first (make docs, or make docs-test)'

_SKIP = _skip_reason()
pytestmark = pytest.mark.skipif(_SKIP is not None, reason=str(_SKIP))

class _Handler(http.server.SimpleHTTPRequestHandler):
    "`python -m http.server` (what `make docs-serve` runs), quiet, with ES modules served as JavaScript wherever mimetypes lacks .mjs."
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, '.mjs': 'text/javascript'}
    def log_message(self, *a): pass

@pytest.fixture(scope='module')
def site():
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Handler, directory=str(SITE)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{srv.server_address[1]}/'
    srv.shutdown()

@pytest.fixture(scope='module')
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()

class Page:
    "A browser page that records console errors, uncaught exceptions and failed or refused requests."
    def __init__(self, browser):
        self.page, self.errors = browser.new_page(), []
        self.page.on('console', lambda m: m.type == 'error' and self.errors.append(f'console: {m.text} ({m.location.get("url")})'))
        self.page.on('pageerror', lambda e: self.errors.append(f'exception: {e}'))
        # a request the browser itself abandoned (ERR_ABORTED: the reader left the page while it loaded) is no failure of the site
        self.page.on('requestfailed', lambda r: 'ERR_ABORTED' not in (r.failure or '') and self.errors.append(f'request failed: {r.url} {r.failure}'))
        self.page.on('response', lambda r: r.status >= 400 and self.errors.append(f'HTTP {r.status}: {r.url}'))

    def goto(self, url):
        self.errors.clear()
        self.page.goto(url, wait_until='load')
        return self.page

    def check(self, what):
        assert not self.errors, f'{what}:\n' + '\n'.join(self.errors)

def _rel(url, site): return url[len(site):] if url.startswith(site) else url

def test_reading_order_api_entry_and_search(site, browser):
    "Front page → each notebook of the reading order by its 'next' link, up to 07_train → run_recipe's API entry → a search for 'audit'."
    p = Page(browser)
    page = p.goto(site)
    page.wait_for_load_state('networkidle')
    p.check('the front page')
    assert page.title().startswith('sts-study')
    order = page.eval_on_selector_all('section#reading-order table a', 'as => as.map(a => a.getAttribute("href"))')
    assert order[:8] == ['00_settings.html', '01_tables.html', '02_sources.html', '03_models.html', '04_data.html', '05_metrics.html',
                         '06_recipe.html', '07_train.html'], order
    assert len(order) == len(sorted(ROOT.glob('nbs/[0-9]*.ipynb')))
    page.click('section#reading-order table a[href="00_settings.html"]')
    for want in order[:8]:
        page.wait_for_load_state('networkidle')
        assert _rel(page.url, site) == want, f'the reading order went to {page.url}, not {want}'
        p.check(want)
        if want != '07_train.html': page.click('a.right-next')
    # 07_train.ipynb mentions run_recipe in its prose: the mention links the API entry (nbdev's doc links)
    link = page.locator('a[title="API: run_recipe"]').first
    assert link.count() == 1, 'no link to run_recipe from 07_train'
    link.click()
    page.wait_for_load_state('load')
    assert _rel(page.url, site) == 'api/train.html#sts_study.train.run_recipe', page.url
    p.check('the API page of sts_study.train')
    entry = page.locator('dl.py.function:has(dt#sts_study\\.train\\.run_recipe)')
    assert entry.locator('dt').first.inner_text().startswith('sts_study.train.run_recipe(r, out, seed=42')
    assert entry.locator('dd p').first.inner_text() == 'Train r and evaluate before and after; returns (and writes to out/run.json) the run record.'
    rows = entry.locator('dd table').first.evaluate('t => [...t.querySelectorAll("tbody tr")].map(r => [...r.cells].map(c => c.innerText.trim()))')
    # the docments table: name, type, default, and the comment beside the parameter in the source
    assert [r[0] for r in rows] == ['r', 'out', 'seed', 'device', 'resume', 'save_model', 'n_resamples', 'callbacks', 'bf16',
                                    'keep_checkpoints', 'Returns'], rows
    assert rows[2] == ['seed', 'int', '42', 'seeds model init (tiny), data draws, sampler and trainer'], rows[2]
    assert rows[0] == ['r', 'Recipe', '', 'the recipe (see load_recipe)'], rows[0]
    # a name in backticks links its entry, in the API tables as in the notebooks: the type Recipe, load_recipe in the comment
    assert entry.locator('dd table tbody tr').first.locator('a').evaluate_all('as => as.map(a => a.getAttribute("href"))') == [
        'recipe.html#sts_study.recipe.Recipe', 'recipe.html#sts_study.recipe.load_recipe']
    # search, as the reader uses it: the search button, the box it opens, Enter; the results come from Sphinx's own index
    page.locator('button.search-button-field:visible').first.click()
    box = page.locator('#pst-search-dialog input[type="search"]')
    box.fill('audit')
    box.press('Enter')
    page.wait_for_load_state('load')
    assert _rel(page.url, site) == 'search.html?q=audit', page.url
    summary = page.locator('#search-results p.search-summary', has_text='Search finished')  # results are listed as they are found
    summary.wait_for(timeout=60_000)
    found = int(re.search(r'found (\d+) pages', summary.inner_text())[1])
    hits = page.eval_on_selector_all('#search-results ul.search li a', 'as => as.map(a => a.getAttribute("href"))')
    pages = {h.split('#')[0].split('?')[0] for h in hits}
    assert len(hits) == found, (len(hits), summary.inner_text())
    assert {'16_audit.html', 'api/audit.html', 'command-line.html'} <= pages, sorted(pages)
    p.check('the search for "audit"')
    print(f'\nreading order followed: {len(order[:8])} notebooks; search "audit": {len(hits)} results on {len(pages)} pages')

_IDS = re.compile(r'\bid="([^"]+)"')

def test_every_page(site, browser):
    "Every page of the site: loads with no console error or failed request, every image loaded, every internal link reaches a page and its anchor, every diagram an SVG."
    pages = sorted(str(f.relative_to(SITE)) for f in SITE.rglob('*.html') if not f.relative_to(SITE).parts[0].startswith('_'))
    ids = {n: set(_IDS.findall((SITE/n).read_text(encoding='utf-8'))) for n in pages}
    p, links, broken, images, diagrams, external = Page(browser), set(), [], 0, 0, set()
    for n in pages:
        page = p.goto(urljoin(site, n))
        for d in page.locator('pre.mermaid').all():  # drawn lazily as they scroll into view
            d.scroll_into_view_if_needed()
            d.locator('svg').first.wait_for(timeout=30_000)
            assert d.locator('svg g').count() > 0, f'{n}: an empty diagram'
            diagrams += 1
        page.evaluate('async () => { for (const i of document.images) { i.loading = "eager"; try { await i.decode(); } catch (e) {} } }')
        imgs = page.eval_on_selector_all('img', 'is => is.map(i => [i.currentSrc || i.src, i.complete && i.naturalWidth > 0])')
        bad = [s for s, ok in imgs if not ok]
        assert not bad, f'{n}: images that did not load: {bad}'
        images += len(imgs)
        p.check(n)
        scripts = page.eval_on_selector_all('script[src]', 'ss => ss.map(s => s.src)')
        assert all(s.startswith(site) for s in scripts), f'{n}: scripts from elsewhere than the site: {[s for s in scripts if not s.startswith(site)]}'
        for href in page.eval_on_selector_all('a[href]', 'as => as.map(a => a.href)'):
            u = urlsplit(href)
            if not href.startswith(site): external.add(href); continue
            links.add((n, href))
            target = u.path[len(urlsplit(site).path):] or 'index.html'
            if target.endswith('/'): target += 'index.html'
            if not (SITE/target).is_file(): broken.append(f'{n} → {href}: no such file'); continue
            if u.fragment and target.endswith('.html') and u.fragment not in ids.setdefault(target, set(_IDS.findall((SITE/target).read_text(encoding='utf-8')))):
                broken.append(f'{n} → {href}: no #{u.fragment} there')
    assert not broken, f'{len(broken)} broken internal links:\n' + '\n'.join(broken[:50])
    want = sum(''.join(c['source']).count('```mermaid') for nb in sorted((ROOT/'nbs').glob('*.ipynb'))
               for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'markdown')
    assert (want, diagrams) == (4, 4), f'{diagrams} mermaid diagrams drawn of {want} in the notebooks (the index has two, 10_runs one, 18_sweep one)'
    nbs = len(list(ROOT.glob('nbs/*.ipynb')))
    assert {f'{Path(n).stem}.html' for n in map(str, ROOT.glob('nbs/*.ipynb'))} <= set(pages)
    print(f'\n{len(pages)} pages ({nbs} notebooks), {len(links)} internal links checked (none broken), {len(external)} external links '
          f'(not followed: no network), {images} images loaded, {diagrams} diagrams drawn as SVG')
