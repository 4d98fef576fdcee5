"`sts-study card audit`: the study's cards K, H and M and every corpus card through the CLI's `main` (in process), a file that is no card through the console script."
import contextlib, csv, io, json
import pytest
from conftest import run_cli, CORPUS
from sts_study.settings import get_settings
from sts_study.recipe import CARDS
from sts_study.cli import main

K, H, M = (get_settings().cards/CARDS[k] for k in ('korean-gte', 'hebrew-mbert', 'english-minilm'))
needs_corpus = pytest.mark.skipif(CORPUS is None or not (CORPUS/'MANIFEST.tsv').exists(), reason='no card corpus (set STS_STUDY_CORPUS)')

def cli(*args) -> str:
    "What `sts-study ARGS` prints, run in this process (each console-script start spends ~10 s importing); nothing on stderr."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): main([str(a) for a in args])
    assert err.getvalue() == '', err.getvalue()
    return out.getvalue()

def audit(card) -> dict:
    "The CLI's --json audit of `card` with its checks by name."
    out = json.loads(cli('card', 'audit', card, '--json'))
    out['by'] = {ch['check']: ch for ch in out['checks']}
    return out

def verdicts(a:dict) -> dict: return {k: ch['verdict'] for k, ch in a['by'].items()}

def test_card_k():
    "Card K: fit() (printed lr, weight decay, warm-up not used), ~1% of its NLI triplets an epoch, its score chosen on dev."
    a = audit(K)
    assert (a['writer'], a['st_version']) == ('fit', '3.0.1')
    assert verdicts(a) == {'writer': 'fires', 'labels vs loss': 'clear', 'data consumption': 'fires', 'selection on dev': 'fires',
                           'stopped early': 'fires', 'evaluated on training data': 'cannot tell', 'reproducibility': 'fires'}
    w = a['by']['writer']['data']
    assert [(x['name'], x['printed'], x['trained']) for x in w['not_used']] == [
        ('learning_rate', 5e-05, 2e-05), ('weight_decay', 0.0, 0.01), ('lr_scheduler_type', 'linear', 'WarmupLinear'), ('warmup_ratio', 0.0, None), ('warmup_steps', 0, 10000)]
    assert [(l['line'], l['text']) for l in a['by']['writer']['lines'][:3]] == [
        (286, '- `learning_rate`: 5e-05'), (287, '- `weight_decay`: 0.0'), (294, '- `lr_scheduler_type`: linear')]
    c = a['by']['data consumption']['data']
    assert c['steps_per_epoch'] == 1438
    nli, sts = c['shares']
    assert (nli['rows'], nli['batches'], nli['drawn_per_epoch'], nli['drawn_by_last_step']) == (568640, 71080, 5752, 5760)
    assert nli['share_per_epoch'] == 5752 / 568640 and f"{nli['share_per_epoch']:.4%}" == '1.0115%'
    assert (sts['rows'], sts['drawn_per_epoch'], sts['share_per_epoch']) == (5749, 5749, 1.0)
    assert '1.01% of it' in a['by']['data consumption']['summary']
    s = a['by']['selection on dev']['data']
    assert (s['metric'], s['published'], s['n_evaluations'], s['published_steps'], s['best_step'], s['last_step'], s['chosen_from']) == (
        'sts-dev_spearman_max', 0.8621, 2, [1439], 1439, 1439, 2)
    st = a['by']['stopped early']['data']
    assert (st['last_step'], st['last_epoch'], st['configured_steps'], st['short']) == (1439, 1.0007, 14380, 12941)

def test_card_h():
    "Card H: fit(); class ids 0/1/2 as cosine targets; its score is its last evaluation (0.1896 at 18,755), not its best (0.2059 at 13,000)."
    a = audit(H)
    assert (a['writer'], a['st_version']) == ('fit', '3.0.1')
    assert verdicts(a) == {'writer': 'fires', 'labels vs loss': 'fires', 'data consumption': 'clear', 'selection on dev': 'clear',
                           'stopped early': 'clear', 'evaluated on training data': 'cannot tell', 'reproducibility': 'fires'}
    lab = a['by']['labels vs loss']['data']['datasets'][0]
    assert (lab['loss'], lab['verdict']) == ('CosineSimilarityLoss', 'fires')
    assert lab['labels'] == dict(column='label', type='int', classes=[[0, 34.4], [1, 34.7], [2, 30.9]], min=None, max=None, samples=[0, 1, 2])
    s = a['by']['selection on dev']['data']
    assert (s['published'], s['n_evaluations'], s['last_step'], s['best'], s['best_step'], s['chosen_from']) == (0.1896, 19, 18755, 0.2059, 13000, 1)
    st = a['by']['stopped early']['data']
    assert (st['last_step'], st['configured_steps'], st['short']) == (18755, 18755, 0)

def test_card_m():
    "Card M, the positive control: the Trainer, float scores in [0, 1] for CosineSimilarityLoss, one dataset."
    a = audit(M)
    assert (a['writer'], a['st_version']) == ('trainer', '5.3.0')
    assert verdicts(a) == {'writer': 'clear', 'labels vs loss': 'clear', 'data consumption': 'clear', 'selection on dev': 'cannot tell',
                           'stopped early': 'clear', 'evaluated on training data': 'cannot tell', 'reproducibility': 'clear'}
    lab = a['by']['labels vs loss']['data']['datasets'][0]['labels']
    assert (lab['column'], lab['type'], lab['min'], lab['max']) == ('score', 'float', 0.0, 1.0)
    assert a['by']['stopped early']['data']['configured_steps'] == 2157

def test_markdown_report():
    "Without --json: the verdict table first, then the evidence with the card's line numbers."
    lines = cli('card', 'audit', H).splitlines()
    assert lines[0] == '## Audit of hebrew-mbert-hebnli.md'
    table = [l for l in lines if l.startswith('| ')][1:8]
    assert [l.split('|')[1].strip() + ' ' + l.split('|')[2].strip() for l in table] == [
        '✗ writer', '✗ labels vs loss', '✓ data consumption', '✓ selection on dev', '✓ stopped early', '? evaluated on training data', '✗ reproducibility']
    assert '- card line 230: `` label (int): 0: ~34.40%, 1: ~34.70%, 2: ~30.90% ``' in lines

def corpus_cards():
    if CORPUS is None or not (CORPUS/'MANIFEST.tsv').exists(): return []
    return [CORPUS/f"{r['slug']}.md" for r in csv.DictReader(open(CORPUS/'MANIFEST.tsv', encoding='utf-8'), delimiter='\t')]

@needs_corpus
@pytest.mark.parametrize('card', corpus_cards() or [None], ids=lambda p: p.stem if p else 'none')
def test_corpus_card(card):
    "Every corpus card audits; every check that fires carries evidence, every 'cannot tell' says what is missing."
    m = {r['slug']: r for r in csv.DictReader(open(CORPUS/'MANIFEST.tsv', encoding='utf-8'), delimiter='\t')}[card.stem]
    a = audit(card)
    assert a['st_version'] == m['st_version'] and len(a['checks']) == 7
    for ch in a['checks']:
        assert ch['summary']
        if ch['verdict'] == 'fires': assert ch['evidence'], ch['check']
        if ch['verdict'] == 'cannot tell': assert ch['missing'], ch['check']

def test_not_a_card(tmp_path):
    "A markdown file that is not a sentence-transformers card: one line on stderr, exit 2, no traceback."
    f = tmp_path/'notes.md'
    f.write_text('# Notes\n\nNot a model card.\n')
    r = run_cli('card', 'audit', f)
    assert (r.returncode, r.stdout) == (2, '')
    assert r.stderr == 'sts-study: error: notes.md: not a sentence-transformers model card: no YAML front matter (the card must start with ---)\n'
    g = tmp_path/'post.md'
    g.write_text('---\ntitle: a post\ntags: [blog]\n---\n\n# A post\n')
    err = io.StringIO()  # the same through `main` in process: exit 2 with --json too
    with pytest.raises(SystemExit) as e, contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()): main(['card', 'audit', str(g), '--json'])
    assert e.value.code == 2 and 'post.md: not a sentence-transformers model card: no sentence-transformers tag' in err.getvalue()
