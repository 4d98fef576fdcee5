"The study as a workbench: a user's own data (local files), recipes and cards, through the CLI (its `main` in process, where a console script would only add ~10 s of imports)."
import csv, json
import pytest
import yaml
from conftest import run_cli, run_main, needs_mirror, ROOT

CARD_K = ROOT/'sts_study'/'cards'/'korean-gte-kornli-korsts.md'

def _pairs(n=60):
    from sts_study.data import load_data
    return load_data('korsts', 'dev').select(range(n))

@pytest.fixture(scope='module')
def files(tmp_path_factory):
    "The same KorSTS dev pairs as a TSV (own column names, 0-5), a CSV (canonical, 0-1) and JSON lines (own names, 0-5); NLI triplets as JSON lines."
    from sts_study.data import load_data, nli_to_triplets
    d, ds = tmp_path_factory.mktemp('user'), _pairs()
    with open(d/'pairs.tsv', 'w') as f:
        f.write('text_a\ttext_b\tsim\n' + ''.join(f'{a}\t{b}\t{s}\n' for a, b, s in zip(ds['sentence1'], ds['sentence2'], ds['raw_score'])))
    with open(d/'pairs.csv', 'w', newline='') as f:
        w = csv.writer(f); w.writerow(['sentence1', 'sentence2', 'score']); w.writerows(zip(ds['sentence1'], ds['sentence2'], ds['score']))
    with open(d/'pairs.jsonl', 'w') as f:
        for a, b, s in zip(ds['sentence1'], ds['sentence2'], ds['raw_score']): f.write(json.dumps(dict(s1=a, s2=b, gold=s), ensure_ascii=False) + '\n')
    nli_to_triplets(load_data('kornli-xnli', 'dev')).select(range(48)).to_json(str(d/'triplets.jsonl'), force_ascii=False)
    from sts_study.models import tiny_model
    tiny_model(list(ds['sentence1']) + list(ds['sentence2'])).save(str(d/'tiny'))
    return d

@needs_mirror
@pytest.mark.parametrize('name,extra', [('pairs.csv', []), ('pairs.tsv', ['--columns', 'sentence1=text_a,sentence2=text_b,score=sim', '--score-scale', '5']),
                                        ('pairs.jsonl', ['--columns', 'sentence1=s1,sentence2=s2,score=gold', '--score-scale', '5'])])
def test_eval_local_file_equals_sentence_transformers(files, name, extra):
    "`sts-study eval --data FILE` gives sentence-transformers' EmbeddingSimilarityEvaluator's numbers (within 1e-6)."
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator
    r = run_main('eval', '--model', files/'tiny', '--data', files/name, *extra, '--json', '--n-resamples', '10', '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    ours = json.loads(r.stdout)
    ds = _pairs()
    ref = EmbeddingSimilarityEvaluator(list(ds['sentence1']), list(ds['sentence2']), list(ds['score']), name='ref', similarity_fn_names=['cosine', 'manhattan', 'euclidean', 'dot'])(SentenceTransformer(str(files/'tiny'), device='cpu'))
    assert ours['n'] == 60
    for k in ('pearson_cosine', 'spearman_cosine', 'spearman_manhattan', 'spearman_euclidean', 'spearman_dot'):
        assert abs(ours['metrics'][k] - ref[f'ref_{k}']) < 1e-6, (k, ours['metrics'][k], ref[f'ref_{k}'])

@needs_mirror
def test_eval_bad_row_names_file_row_field(files, tmp_path):
    "A score that is not a number: `sts-study eval` names the file, its line and the field, exit 1."
    p = tmp_path/'bad.tsv'
    text = (files/'pairs.tsv').read_text()
    assert text.count('\t4.2\n') == 1  # dev row 38 (file line 40) is the one pair scored 4.2
    p.write_text(text.replace('\t4.2\n', '\tlots\n'))
    r = run_main('eval', '--model', files/'tiny', '--data', p, '--columns', 'sentence1=text_a,sentence2=text_b,score=sim', '--score-scale', '5')
    assert r.returncode == 1 and f"{p}, line 40, field 'sim': not a number: 'lots'" in r.stderr, r.stderr

@needs_mirror
def test_own_recipe_with_local_files_trains_and_evaluates(files, tmp_path):
    "A recipe written by hand (a TSV of STS pairs, JSON lines of triplets, two losses) runs end to end into a complete run folder."
    pairs = {'path': 'pairs.tsv', 'columns': {'sentence1': 'text_a', 'sentence2': 'text_b', 'score': 'sim'}, 'score_scale': 5}
    rec = dict(card='mine', model={'base': 'tiny', 'max_seq_length': 64},
               train=[dict(name='triplets', data='triplets.jsonl', loss='MultipleNegativesRankingLoss'),
                      dict(name='pairs', data=pairs, loss='CoSENTLoss', loss_params={'scale': 20.0})],
               eval=dict(data=pairs, name='my-dev'), test=dict(data='pairs.csv'),
               args=dict(per_device_train_batch_size=16, num_train_epochs=1, eval_steps=2, logging_steps=1))
    (files/'mine.yaml').write_text(yaml.safe_dump(rec))
    out = tmp_path/'run'
    r = run_cli('reproduce', files/'mine.yaml', '--profile', 'smoke', '--out', out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out/'STATUS').read_text().startswith('complete')
    run = json.loads((out/'run.json').read_text())
    assert run['train_sizes'] == {'triplets': 48, 'pairs': 60} and run['steps'] == 7 and run['after']['dev']['n'] == 60
    assert 'eval_my-dev_spearman_cosine' in (out/'log.csv').read_text()
    # a typo in an override of the user's recipe: exit 2, named, nothing written
    r = run_main('reproduce', files/'mine.yaml', '--profile', 'smoke', '-p', 'args.learning_rat', '2e-5', '--out', tmp_path/'never')
    assert r.returncode == 2 and "did you mean 'learning_rate'?" in r.stderr and not (tmp_path/'never').exists()

@needs_mirror
def test_recipe_from_card_k_binds_korsts_and_keeps_the_args(tmp_path):
    "Card K converts: KorSTS found from its sample rows, arguments equal to the shipped korean-gte recipe's; --strict fails on the unresolved KorNLI."
    from sts_study.recipe import load_recipe, Optimizer
    r = run_main('recipe', 'from-card', CARD_K, '-o', tmp_path/'k.yaml')
    assert r.returncode == 0, r.stderr
    k = yaml.safe_load((tmp_path/'k.yaml').read_text())
    assert [(t.get('data'), t.get('split'), t.get('convert')) for t in k['train']] == [(None, None, 'none'), ('korsts', 'train', 'sts')]
    shipped = load_recipe('korean-gte')
    assert k['args'] == shipped.args and Optimizer(**k['optimizer']) == shipped.optimizer and k['select'] == shipped.select
    assert 'unresolved: train[train-0].data' in r.stderr
    assert run_main('recipe', 'from-card', '--strict', CARD_K).returncode == 3

