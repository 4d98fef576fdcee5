"Real cards that sentence-transformers generated for other people's models (STS_STUDY_CORPUS, MANIFEST.tsv beside them)."
import csv, json
import pytest, yaml
from conftest import CORPUS, run_cli

HAS_CORPUS = CORPUS is not None and (CORPUS/'MANIFEST.tsv').exists()
pytestmark = pytest.mark.skipif(not HAS_CORPUS, reason='no card corpus (set STS_STUDY_CORPUS)')

def manifest(): return {r['slug']: r for r in csv.DictReader(open(CORPUS/'MANIFEST.tsv', encoding='utf-8'), delimiter='\t')}

def test_trainer_cards_are_not_taken_for_fit():
    "A card written by the Trainer (named dataset and columns, proportional sampler) is not reported as fit()'s."
    from sts_study.card import read_card, card_provenance
    m = manifest()
    # the corpus card trained with named hub data (sentence-transformers/all-nli) through the Trainer
    slug = next(s for s, r in m.items() if 'sentence-transformers/all-nli' in r['dataset_ids'])
    p = card_provenance(read_card(CORPUS/f'{slug}.md', partial=True))
    assert p['writer'] == 'trainer' and p['st_version'] == m[slug]['st_version']

def test_the_manifest_lists_every_card_of_the_corpus():
    "The corpus's card files and MANIFEST.tsv's slugs are the same set, so converting each manifest card converts every card."
    assert {p.stem for p in CORPUS.glob('*.md') if p.name != 'README.md'} == set(manifest())

@pytest.mark.parametrize('slug', sorted(manifest()) if HAS_CORPUS else [])
def test_every_corpus_card_converts(slug, tmp_path):
    "The card converts: every dataset has its loss, the arguments are the card's less those dropped (each one today's transformers does not know), and the recipe, written as YAML and loaded back, has no problem but its unresolved fields."
    from sts_study.card import read_card
    from sts_study.from_card import recipe_from_card, card_args
    from sts_study.recipe import load_recipe, recipe_problems, unknown_args
    c = read_card(CORPUS/f'{slug}.md', partial=True)
    rec, un = recipe_from_card(CORPUS/f'{slug}.md', sources=[])
    assert rec['train'] and all(t['loss'] for t in rec['train'])
    dropped = card_args(c)[1]
    assert [k for k, _, _ in dropped] == unknown_args(c.hyperparameters)
    assert {k: v for k, v in rec['args'].items() if k != 'logging_steps'} == {k: v for k, v in c.hyperparameters.items() if k not in {d[0] for d in dropped} and k != 'logging_steps'}
    (tmp_path/'r.yaml').write_text(yaml.safe_dump(rec, sort_keys=False, allow_unicode=True), encoding='utf-8')
    keys = [k for k, _ in un]
    assert [p for p in recipe_problems(load_recipe(tmp_path/'r.yaml')) if not any(p.startswith(k) for k in keys)] == []

TP = 'fr-hotel-gist-e5small-st510'  # a card written under transformers 4.55.0, converted by transformers 5

def _with_args(src, dst, lines:str):
    "A copy of card `src` at `dst` with `lines` added at the top of its All Hyperparameters list."
    text = src.read_text(encoding='utf-8')
    at = text.index('- `', text.index('#### All Hyperparameters'))
    dst.write_text(text[:at] + lines + text[at:], encoding='utf-8')
    return dst

def _fill_in(path, tmp_path, samples):
    "Fill in the recipe's unresolved data as a user would: the card's sample rows as its train file, STS pairs from them for dev and test."
    rec = yaml.safe_load(path.read_text(encoding='utf-8'))
    train = tmp_path/'train.jsonl'; train.write_text(''.join(json.dumps(s, ensure_ascii=False) + '\n' for s in samples), encoding='utf-8')
    sts = tmp_path/'sts.jsonl'
    sts.write_text(''.join(json.dumps(dict(sentence1=s['sentence_1'], sentence2=s['sentence_2'], score=float(s['label'])), ensure_ascii=False) + '\n' for s in samples), encoding='utf-8')
    rec['train'][0].update(data=str(train)); rec['train'][0].pop('unresolved')
    rec['eval'].update(data=str(sts)); rec['test'].update(data=str(sts))
    path.write_text(yaml.safe_dump(rec, sort_keys=False, allow_unicode=True), encoding='utf-8')

def test_a_card_of_another_transformers_version_converts_and_lists_what_it_drops(tmp_path, capsys):
    "A real card with two arguments today's transformers lacks (tp_size, logging_dir) converts through the console script: exactly those two dropped and listed (output, YAML header, notes), the rest as the original card's; filled in, the recipe loads and validates; --strict exits 2 naming both and writes nothing."
    import transformers
    from sts_study.card import read_card
    from sts_study.cli import main
    from sts_study.from_card import recipe_from_card
    from sts_study.recipe import load_recipe, check_recipe
    card = _with_args(CORPUS/f'{TP}.md', tmp_path/f'{TP}.md', '- `tp_size`: 0\n- `logging_dir`: runs/hotel\n')
    r = run_cli('recipe', 'from-card', card, '-o', tmp_path/'r.yaml')
    assert r.returncode == 0, r.stderr
    why = f"transformers {transformers.__version__} has no such training argument (the card was written under transformers 4.55.0)"
    listed = [f"args.tp_size = 0: {why}", f"args.logging_dir = 'runs/hotel': {why}"]
    assert [l for l in r.stderr.splitlines() if l.startswith('dropped')] == [f'dropped: {x}' for x in listed]
    text = (tmp_path/'r.yaml').read_text(encoding='utf-8')
    assert [l for l in text.splitlines() if l.startswith('# DROPPED')] == [f'# DROPPED {x}' for x in listed]
    rec = yaml.safe_load(text)
    assert [n for n in rec['notes'] if n.startswith('dropped')] == [f'dropped {x}' for x in listed]
    assert rec['args'] == recipe_from_card(CORPUS/f'{TP}.md', sources=[])[0]['args']  # the original card's arguments, nothing else lost
    _fill_in(tmp_path/'r.yaml', tmp_path, read_card(card, partial=True).datasets[0]['samples'])
    r2 = check_recipe(load_recipe(tmp_path/'r.yaml'))
    assert 'tp_size' not in r2.args and r2.args['per_device_train_batch_size'] == 128
    with pytest.raises(SystemExit) as e: main(['recipe', 'from-card', '--strict', str(card), '-o', str(tmp_path/'strict.yaml')])
    err = capsys.readouterr().err
    assert e.value.code == 2 and not (tmp_path/'strict.yaml').exists()
    assert '  args.tp_size: unknown training argument\n' in err and '  args.logging_dir: unknown training argument\n' in err
