"""`sts-study card audit`: what the CLI prints for the study's cards K, H and M is the audit itself (through the CLI's `main`, in process),
and a file that is no card exits 2 (through the console script). The audit's values, and every corpus card, are checked in
nbs/16_audit.ipynb; they are not repeated here."""
import contextlib, io, json
import pytest
from conftest import run_cli
from sts_study.settings import get_settings
from sts_study.recipe import CARDS
from sts_study.cli import main

K, H, M = (get_settings().cards/CARDS[k] for k in ('korean-gte', 'hebrew-mbert', 'english-minilm'))

def cli(*args) -> str:
    "What `sts-study ARGS` prints, run in this process (each console-script start spends ~10 s importing); nothing on stderr."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): main([str(a) for a in args])
    assert err.getvalue() == '', err.getvalue()
    return out.getvalue()

def test_cli_prints_the_audit():
    "`card audit --json` prints `audit_card`'s result and `card audit` prints `audit_markdown` of it, whole, for cards K, H and M (nbs/16_audit.ipynb checks the values themselves)."
    from sts_study.audit import audit_card, audit_markdown
    for card in (K, H, M):
        r = audit_card(card)
        assert json.loads(cli('card', 'audit', card, '--json')) == json.loads(json.dumps(r)), card.name
        assert cli('card', 'audit', card) == audit_markdown(r), card.name

def test_card_lines_and_label_types():
    "What only this test checks: the writer check's card lines (286, 287, 294: lr, weight decay, scheduler) and card M's float scores in [0, 1]."
    k = json.loads(cli('card', 'audit', K, '--json'))
    assert [(l['line'], l['text']) for l in k['checks'][0]['lines'][:3]] == [
        (286, '- `learning_rate`: 5e-05'), (287, '- `weight_decay`: 0.0'), (294, '- `lr_scheduler_type`: linear')]
    m = {ch['check']: ch for ch in json.loads(cli('card', 'audit', M, '--json'))['checks']}
    lab = m['labels vs loss']['data']['datasets'][0]['labels']
    assert (lab['column'], lab['type'], lab['min'], lab['max']) == ('score', 'float', 0.0, 1.0)

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

def test_auditing_a_fit_card_loads_no_engine():
    "Auditing card K (fit() wrote it: its log is read for the hidden arguments, `card.log_evidence`) in a fresh interpreter loads neither infer nor torch nor transformers."
    import os, subprocess, sys
    code = ("import sys; from sts_study.audit import audit_card; audit_card(sys.argv[1]); "
            "print([m for m in ('sts_study.infer', 'torch', 'transformers') if m in sys.modules])")
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(get_settings().root), *filter(None, [os.environ.get('PYTHONPATH')])])}
    r = subprocess.run([sys.executable, '-c', code, str(K)], env=env, capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stdout.strip()) == (0, '[]'), r.stderr[-2000:]

def test_cli_audits_with_an_inferred_recipe(tmp_path, capsys):
    "`card audit CARD --inferred RECIPE`: the writer check names the reading the recipe's `optimizer.inferred_from` holds; a recipe without one exits 2."
    import yaml
    from sts_study.audit import audit_card, audit_markdown
    inf = dict(card=K.name, call=1, reading='example: warm-up 10%', rows=[dict(step=719, kind='loss', column='Training Loss', card=0.8, run=0.81, error=0.0125, z=0.4)],
               statistic='log-likelihood', score=2.54, p=0.28, seeds=3, settled=True)  # as `recipe infer -o` writes it (tests/test_infer.py), trimmed to one row
    f = tmp_path/'k-inferred.yaml'
    f.write_text(yaml.safe_dump(dict(card='korean-gte', optimizer=dict(builder='fit', st_version='3.0.1', lr=2e-5, warmup_steps=718, inferred_from=inf)), sort_keys=False))
    out = cli('card', 'audit', K, '--inferred', f)
    assert ("- hidden fit() arguments: inferred example: warm-up 10% from call 1 of the log (log-likelihood 2.5 in the reading's own seed spread, p 0.28, "
            "over 1 row and 3 seeds; settled beyond seed noise)") in out.splitlines()
    assert out == audit_markdown(audit_card(K, inferred=inf))
    f.write_text('card: korean-gte\noptimizer: {builder: fit}\n')
    with pytest.raises(SystemExit) as e: main(['card', 'audit', str(K), '--inferred', str(f)])
    assert (e.value.code, capsys.readouterr().err) == (2, f'sts-study: error: --inferred {f}: no optimizer.inferred_from (`sts-study recipe infer CARD -o RECIPE` writes it)\n')
    f.write_text(yaml.safe_dump(dict(card='korean-gte', optimizer=dict(builder='fit', inferred_from=inf | dict(score='2.54'))), sort_keys=False))
    with pytest.raises(SystemExit) as e: main(['card', 'audit', str(K), '--inferred', str(f)])  # a score that is not a number: refused by the recipe check
    assert (e.value.code, capsys.readouterr().err) == (2, f"sts-study: error: --inferred {f}: optimizer.inferred_from.score: a number or null, not '2.54'\n")
