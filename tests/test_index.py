"""The front page (`nbs/index.ipynb`) and the README tell the same study: the README's opening is the index's first cell,
the index quotes the README's findings, its links reach the README's sections, and its reading order lists every notebook."""
import difflib, json, re
from pathlib import Path

from sts_study.card import published_metrics, read_card
from sts_study.recipe import CARDS
from sts_study.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
INDEX = ROOT/'nbs'/'index.ipynb'
README = (ROOT/'README.md').read_text(encoding='utf-8')

def _md_cells(): return [''.join(c['source']) for c in json.loads(INDEX.read_text(encoding='utf-8'))['cells'] if c['cell_type'] == 'markdown']

def _cell(heading):
    "The index's markdown cell that starts with `heading` (exactly one)."
    hits = [s for s in _md_cells() if s.startswith(heading + '\n')]
    assert len(hits) == 1, f'{len(hits)} cells of {INDEX.name} start with {heading!r}'
    return hits[0]

def _opening():
    head, sep, _ = README.partition('\n## Quick start\n')
    assert sep, 'README.md has no "## Quick start" heading'
    return head

def test_readme_opening_is_the_index_first_cell():
    "README.md, from its title up to '## Quick start', equals the first cell of nbs/index.ipynb, character for character."
    first = _md_cells()[0].strip()
    opening = _opening().strip()
    diff = '\n'.join(difflib.unified_diff(first.splitlines(), opening.splitlines(), 'nbs/index.ipynb, first cell', 'README.md, opening', lineterm=''))
    assert first == opening, f'the README opening and the index first cell differ (edit both):\n{diff}'

def _row(table, card_id):
    rows = [l for l in table.splitlines() if l.startswith('|') and f'`{card_id}`' in l]
    assert len(rows) == 1, f'{len(rows)} rows of the opening table name {card_id}'
    return [c.strip() for c in rows[0].strip('|').split('|')]

def test_opening_table_says_what_the_cards_say():
    "Each card's row in the opening table names the card's base model, its training-set sizes and its published numbers, read from the shipped card."
    cards = {c: read_card(get_settings().cards/f, partial=True) for c, f in CARDS.items()}
    k, h, m = (_row(_opening(), c) for c in ('korean-gte', 'hebrew-mbert', 'english-minilm'))
    assert [r[1] for r in (k, h, m)] == [cards[c].base_model for c in ('korean-gte', 'hebrew-mbert', 'english-minilm')]
    assert k[3] == f"KorSTS dev spearman_cosine {published_metrics(cards['korean-gte'])['spearman_cosine']:.4f}"
    assert h[3] == f"sts-dev spearman_max {published_metrics(cards['hebrew-mbert'])['spearman_max']:.4f}"
    assert f"{cards['hebrew-mbert'].datasets[0]['size']:,} HebNLI pairs" in h[2]
    assert published_metrics(cards['english-minilm']) == {}
    assert m[3] == f"{len(cards['english-minilm'].training_logs['rows'])} training-loss rows, dataset statistics (no evaluation)"
    assert f"({cards['english-minilm'].datasets[0]['size']:,} pairs" in m[2]

NUMBER = re.compile(r'[−+]?\d+(?:,\d{3})*(?:\.\d+)*%?')  # 0.8621, −0.0348, 10,000, 1.4%, 3.0.1: each a whole token

def _numbers(text) -> list:
    "The numbers with a decimal point or a thousands comma in `text`, each whole (3.0.1, not 3.0; 0.0123 is not 0.01)."
    return [n for n in NUMBER.findall(text) if '.' in n or ',' in n]

def _section(anchor) -> str:
    "The README's section whose heading has GitHub's anchor `anchor`: from its heading to the next heading of its level or above."
    out, level = [], None
    for line in README.splitlines():
        m = re.match(r'(#{1,6}) (.*)', line)
        if m and level is not None and len(m[1]) <= level: break
        if m and level is None and _slug(m[2]) == anchor: level = len(m[1])
        elif level is not None: out.append(line)
    assert level is not None, f'README.md has no heading with anchor {anchor}'
    return '\n'.join(out)

SUMMARIES = ['what-the-numbers-say-and-what-they-cannot', 'what-the-control-says']  # the README sections 'What was found' quotes

def test_question_quotes_the_cards():
    "'The question' quotes the cards' published dev numbers, K's spearman_cosine and H's spearman_max, read from the shipped cards."
    cards = {c: read_card(get_settings().cards/f, partial=True) for c, f in CARDS.items()}
    assert _numbers(_cell('## The question')) == [f"{published_metrics(cards['korean-gte'])['spearman_cosine']:.4f}",
                                                  f"{published_metrics(cards['hebrew-mbert'])['spearman_max']:.4f}"]

def test_found_numbers_are_the_readme_summaries():
    "Each bullet of 'What was found' quotes only numbers of the README sections it links, or without a link of its two summaries (what the numbers say, what the control says): whole numbers, section by section, not anywhere in the README."
    bullets = re.split(r'\n- ', _cell('## What was found'))[1:]
    assert len(bullets) == 6 and sum(len(_numbers(b)) for b in bullets) == 27, [_numbers(b) for b in bullets]
    for b in bullets:
        quoted = re.findall(r'\(\.\./README\.md#([^)]+)\)', b) or SUMMARIES
        have = set(_numbers('\n'.join(_section(a) for a in quoted)))
        assert not [n for n in _numbers(b) if n not in have], f'{b[:60]!r} quotes numbers the README sections {quoted} do not have: {[n for n in _numbers(b) if n not in have]}'

def _slug(heading):
    "GitHub's anchor for a markdown heading: inline code and emphasis marks dropped, lower case, punctuation removed, spaces as hyphens."
    text = re.sub(r'[`*]', '', heading).strip().lower()
    return re.sub(r'[^\w\- ]', '', text).replace(' ', '-')

def test_slug():
    "The slug rule gives GitHub's anchors for the README's headings with code, emphasis and punctuation."
    assert _slug('Results (`cpu` profile, **stand-in** model, 2 CPU cores)') == 'results-cpu-profile-stand-in-model-2-cpu-cores'
    assert _slug("What the cards ran: `model.fit()`, not the printed hyperparameters") == 'what-the-cards-ran-modelfit-not-the-printed-hyperparameters'

def test_index_links_reach_readme_sections():
    "Every `../README.md#anchor` link of the index names a heading of README.md."
    anchors = {_slug(l.lstrip('#')) for l in README.splitlines() if re.match(r'#{1,6} ', l)}
    links = re.findall(r'\(\.\./README\.md#([^)]+)\)', '\n'.join(_md_cells()))
    assert len(links) == 5, links
    assert not [a for a in links if a not in anchors], f'links to no README heading: {[a for a in links if a not in anchors]}'

def test_reading_order_lists_every_notebook_in_order():
    "The reading order links every notebook in nbs/ but the index, each once, in the order their names sort."
    listed = re.findall(r'^\| \[[^\]]+\]\(([^)]+\.ipynb)\) \|', _cell('## Reading order'), flags=re.M)
    there = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb') if p.name != 'index.ipynb')
    assert listed == sorted(listed), 'the reading order is not in name order'
    assert sorted(set(listed)) == sorted(listed), 'a notebook is listed twice'
    assert listed == there, (f'reading order vs nbs/: not there {sorted(set(listed) - set(there))}, '
                             f'not listed {sorted(set(there) - set(listed))}')
