"The findings notebook on run folders: every comparison over seeds, and the README section it rewrites from them."
import json, re, subprocess, sys
from pathlib import Path
import numpy as np
from conftest import ROOT
from sts_study.record import RunRecord

def _run_folder(root, card, variant, seed, noise, rng, gold, budget=32):
    "A complete run folder as `reproduce` leaves it, as far as the findings read it: STATUS, run.json, metrics.json."
    name = f"{card}-cpu-{variant or 'published'}-{seed}-{budget}"
    f = root/name; f.mkdir()
    cos = {sp: (np.asarray(g) + rng.normal(0, noise, len(g))).tolist() for sp, g in gold.items()}
    ev = {sp: {'n': len(g), 'metrics': {'spearman_cosine': 0.7, 'spearman_max': 0.7}, 'ci': {'spearman_cosine': [0.6, 0.8]}} for sp, g in gold.items()}
    sched = dict(kind='compressed', steps=budget, card_steps=18755, card_steps_per_epoch=18755, card_sizes={'hebnli': 300067}, scale=18755 / budget, evals=[budget], card_evals=19)
    run = RunRecord(card=card, profile='cpu', variant=variant, seed=seed, steps=budget, max_steps=budget, schedule=sched, wall_seconds=200.0,
               train_sizes={'hebnli': 961 if variant and 'mnrl' in variant else 2883}, warnings=[], stand_in=True,
               model_source={'asked': 'intfloat/multilingual-e5-small', 'used': '/m/me5-small-q4-koheb', 'stand_in': True},
               selection={'rule': 'last', 'step': 100}, best=None, before=ev, after=ev, cosine=cos, gold=gold)
    (f/'run.json').write_text(json.dumps(run.to_json())); (f/'metrics.json').write_text(json.dumps({'dev': ev['dev']['metrics'], 'test': ev['test']['metrics']}))
    (f/'STATUS').write_text('complete\n')
    return name

def test_findings_notebook_rewrites_readme_from_run_folders(tmp_path):
    "nbs/15_findings_report.ipynb on 31 synthetic run folders (30 of the 32-step budget, one of another): the README section between its markers rewritten, every run folder of the budget named and no other, each comparison per seed and pooled, its verdict, 8 figures."
    rng = np.random.default_rng(0)
    gold = {'dev': rng.random(120).tolist(), 'test': rng.random(100).tolist()}
    runs = tmp_path/'runs'; runs.mkdir()
    noise = {('korean-gte', None): .5, ('korean-gte', 'proportional'): .5, ('hebrew-mbert', None): .9, ('hebrew-mbert', 'graded'): .4, ('hebrew-mbert', 'mnrl-pairs'): .2}
    noise.update({(c, 'as-printed' + (f'+{v}' if v else '')): n for (c, v), n in list(noise.items())})  # the same fixes under the printed reading
    names = [_run_folder(runs, c, v, s, n, rng, gold) for s in (42, 1, 2) for (c, v), n in noise.items()]
    other = _run_folder(runs, 'hebrew-mbert', None, 42, .1, rng, gold, budget=200)  # another budget (make reproduce's): left out by -p budget 32
    (bad := runs/'broken').mkdir(); (bad/'STATUS').write_text('complete\n'); (bad/'metrics.json').write_text('{}'); (bad/'run.json').write_text('{"card": ')  # malformed: passed over, named
    readme = tmp_path/'README.md'
    readme.write_text('# kept\n<!-- findings:begin -->\nstale\n<!-- findings:end -->\nkept too\n')
    r = subprocess.run([str(Path(sys.executable).parent/'papermill'), str(ROOT/'nbs/15_findings_report.ipynb'), str(tmp_path/'out.ipynb'),
                        '-p', 'runs_dir', str(runs), '-p', 'readme', str(readme), '-p', 'n_resamples', '50', '-p', 'budget', '32'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    said = ''.join(''.join(o.get('text', '')) for c in json.loads((tmp_path/'out.ipynb').read_text())['cells'] for o in c.get('outputs', []))
    assert f"passed over a malformed run folder: {bad/'run.json'}: Expecting value: line 1 column 10 (char 9)" in said, said[-3000:]
    text = re.sub(r' +', ' ', readme.read_text())  # tables are padded to column width
    assert text.startswith('# kept\n') and text.endswith('kept too\n') and 'stale' not in text
    assert all(f'`{n}`' in text for n in names) and f'`{other}`' not in text  # every run folder of the budget named, no other
    for title in [f'{t}, {reading}' for reading in ("fit()'s reconstruction", 'as printed')
                  for t in ('card K: proportional − round robin', 'card H: graded − raw labels', 'card H: MNRL on entailment pairs − raw labels',
                            'card H: MNRL on entailment pairs − graded labels')]:
        sec = text.split(f'### {title}\n', 1)[1].split('\n### ', 1)[0]
        for sp in ('dev', 'test'):  # 3 seeds and their mean, each split
            assert [int(x) for x in re.findall(rf'^\| {sp} \| (\d+) \|', sec, re.M)] == [1, 2, 42] and f'| {sp} | mean of 3 |' in sec, sec
        assert '](docs/findings/' in sec and '- dev: ' in sec and '- test: ' in sec
    # the MNRL fix beats raw labels by much more than the noise: its verdict says so
    for reading in ("fit()'s reconstruction", 'as printed'):
        mnrl = text.split(f'### card H: MNRL on entailment pairs − raw labels, {reading}\n', 1)[1].split('\n### ', 1)[0]
        assert '- dev: A higher' in mnrl
    assert len(list((tmp_path/'docs/findings').glob('*.png'))) == 8
    assert '| hebrew-mbert | MNRL entailment pairs, as printed | 42 |' in text and '| 961 |' in text
    assert "| hebrew-mbert | raw 0/1/2, fit()'s reconstruction | 42 |" in text and "card's 18,755 steps compressed to 32" in text
    for card in ('korean-gte', 'hebrew-mbert'):  # fit() against as-printed, over the 3 seeds
        sec = text.split(f'### {card}: fit() reconstruction − as printed\n', 1)[1].split('\n### ', 1)[0]
        assert '| dev | mean of 3 |' in sec, sec
