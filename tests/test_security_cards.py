"""Cards and recipes from elsewhere are data, never code (issue 31, SECURITY.md): each attack below is a crafted card or
recipe written here, refused or neutralised with the exact message, and nothing ran (no marker file, no run folder)."""
import json, sys
import pytest, yaml
from conftest import run_main, needs_mirror, ROOT

CARD_K = ROOT/'sts_study'/'cards'/'korean-gte-kornli-korsts.md'
REMOTE_OPT_IN = "pass --trust-remote-code (or --variant remote-code) on the command line if you trust that code"

def _recipe(path, **over):
    "A small recipe of the user's own (tiny model, KorSTS) at `path`, with `over` replacing its top-level keys."
    r = dict(card='mine', model=dict(base='tiny', max_seq_length=32),
             train=[dict(name='korsts', data='korsts', split='train', convert='sts', loss='CosineSimilarityLoss', limit=16)],
             eval=dict(data='korsts', split='dev', limit=16), test=dict(data='korsts', split='test', limit=16),
             args=dict(per_device_train_batch_size=8, num_train_epochs=1, eval_steps=2, logging_steps=1))
    path.write_text(yaml.safe_dump({**r, **over}, sort_keys=False), encoding='utf-8')
    return path

@pytest.fixture
def outputs(tmp_path, monkeypatch):
    "The settings' outputs folder, in tmp_path: a refused run must not create it."
    monkeypatch.setenv('STS_STUDY_OUTPUTS', str(tmp_path/'outputs'))
    return tmp_path/'outputs'

def _card(tmp_path, name='k.md', **subs):
    "Card K with the text substitutions `subs` ({old: new}), written to tmp_path/name."
    text = CARD_K.read_text(encoding='utf-8')
    for old, new in subs.items():
        assert text.count(old) >= 1, old
        text = text.replace(old, new)
    (tmp_path/name).write_text(text, encoding='utf-8')
    return tmp_path/name

# 1. Remote code: a card never switches it on; a recipe file neither; only the command line, at pinned commits.

def test_from_card_writes_no_remote_code_and_lists_it_unresolved(tmp_path):
    card = _card(tmp_path, **{'with Transformer model: NewModel': 'with Transformer model: TotallyNormalModel'})
    r = run_main('recipe', 'from-card', card, '-o', tmp_path/'r.yaml')
    assert r.returncode == 0, r.stderr
    rec = yaml.safe_load((tmp_path/'r.yaml').read_text(encoding='utf-8'))
    assert rec['model']['trust_remote_code'] is False and rec['model']['revision'] == 'f7d567e1f2493bb0df9413965d144de9f15e7bab'
    why = ("needs remote code (class TotallyNormalModel is not in transformers): the recipe says false; --trust-remote-code runs it, "
           "at a pinned model.revision and model.code_revision, if you trust that code")
    assert f'unresolved: model.trust_remote_code: {why}\n' in r.stderr
    assert f'# UNRESOLVED model.trust_remote_code: {why}\n' in (tmp_path/'r.yaml').read_text(encoding='utf-8')

def test_a_recipe_cannot_switch_on_remote_code(tmp_path, outputs):
    p = _recipe(tmp_path/'evil.yaml', model=dict(base='attacker/evil-encoder', trust_remote_code=True))
    r = run_main('reproduce', p, '--profile', 'smoke', '--out', tmp_path/'run')
    assert r.returncode == 2
    assert r.stderr == (f"sts-study: error: recipe {p} cannot run:\n  model.trust_remote_code: True would run code from the repository of "
                        f"'attacker/evil-encoder'; a recipe never switches remote code on by itself: {REMOTE_OPT_IN}\n")
    assert not (tmp_path/'run').exists() and not outputs.exists()
    # an override from -p (or a run folder's params.yaml) is no opt-in either
    r = run_main('reproduce', _recipe(tmp_path/'mine.yaml'), '--profile', 'smoke', '-p', 'model.trust_remote_code', 'true', '--out', tmp_path/'run')
    assert r.returncode == 2 and "model.trust_remote_code: True would run code from the repository of 'tiny'" in r.stderr and not outputs.exists()

def test_a_foreign_variant_named_remote_code_is_no_opt_in(tmp_path, outputs):
    "Only the study's own `remote-code` variant, at its own pins, is the opt-in a typed --variant gives: a recipe file's (or a sweep's) is not."
    pins = dict(base='attacker/evil-encoder', trust_remote_code=True, revision='a' * 40, code_revision='b' * 40)
    p = _recipe(tmp_path/'evil.yaml', variants={'remote-code': {'model': pins}})
    r = run_main('reproduce', p, '--profile', 'smoke', '--variant', 'remote-code', '--out', tmp_path/'run')
    assert r.returncode == 2
    assert r.stderr == (f"sts-study: error: recipe {p} cannot run:\n  model.trust_remote_code: True would run code from the repository of "
                        f"'attacker/evil-encoder'; a recipe never switches remote code on by itself: {REMOTE_OPT_IN}\n")
    assert not (tmp_path/'run').exists() and not outputs.exists()
    # the shipped variant pointed at another model by an override (a sweep file's, a run folder's) is no opt-in either
    r = run_main('reproduce', 'korean-gte', '--profile', 'smoke', '--variant', 'remote-code', '-p', 'model.base', 'attacker/evil-encoder', '--out', tmp_path/'run')
    assert r.returncode == 2 and "model.trust_remote_code: True would run code from the repository of 'attacker/evil-encoder'" in r.stderr
    assert not (tmp_path/'run').exists() and not outputs.exists()

def test_remote_code_opted_in_runs_only_at_pinned_commits(tmp_path, outputs):
    p = _recipe(tmp_path/'evil.yaml', model=dict(base='attacker/evil-encoder', trust_remote_code=True, revision=None))
    r = run_main('reproduce', p, '--profile', 'smoke', '--trust-remote-code', '--out', tmp_path/'run')
    assert r.returncode == 2 and r.stderr.startswith(f'sts-study: error: recipe mine (smoke, {p}) cannot run:\n')
    assert ("  model.trust_remote_code: remote code runs only at pinned commits: model.revision and model.code_revision must each be a "
            "40-hex commit (revision None, code_revision None)\n") in r.stderr
    assert not (tmp_path/'run').exists() and not outputs.exists()

def test_card_k_remote_code_only_through_its_named_variant_pinned():
    from sts_study.recipe import load_recipe, recipe_problems, RecipeError
    k = load_recipe('korean-gte')
    assert k.model.trust_remote_code is False
    kr = load_recipe('korean-gte', variant='remote-code')
    assert (kr.model.base, kr.model.revision, kr.model.code_revision, kr.model.trust_remote_code) == (
        'Alibaba-NLP/gte-multilingual-base', 'f7d567e1f2493bb0df9413965d144de9f15e7bab', '40ced75c3017eb27626c9d4ea981bde21a2662f4', True)
    assert recipe_problems(kr) == []
    with pytest.raises(RecipeError, match='a recipe never switches remote code on by itself'):
        load_recipe('korean-gte', overrides={'model': {'trust_remote_code': True}})

# 2. Recipe injection: YAML from the dumper, comments escaped, duplicate keys and aliases refused, card patterns one line.

def test_a_multiline_dataset_name_in_a_card_injects_nothing(tmp_path):
    "The issue's card: an evaluation dataset named in backticks across lines, to become a `profiles:` key after a comment line."
    triplet = ('#### Triplet\n* Dataset: `x\nprofiles:\n  cpu: {model: {base: attacker/evil-encoder, trust_remote_code: true}}\n#`\n'
               '* Evaluated with [<code>TripletEvaluator</code>](https://x)\n\n| Metric | Value |\n|:--|:--|\n| **cosine_accuracy** | **0.9** |\n\n')
    card = _card(tmp_path, **{'## Bias, Risks and Limitations': triplet + '## Bias, Risks and Limitations'})
    from sts_study.card import read_card
    assert [e['dataset'] for e in read_card(card).evaluations] == ['sts-dev', None]  # a name spanning lines is no name
    r = run_main('recipe', 'from-card', card, '-o', tmp_path/'r.yaml')
    assert r.returncode == 0, r.stderr
    rec = yaml.safe_load((tmp_path/'r.yaml').read_text(encoding='utf-8'))
    assert 'profiles' not in rec and rec['evaluators'] == [dict(evaluator='TripletEvaluator', name='TripletEvaluator', data=None)]
    from sts_study.recipe import load_recipe
    assert load_recipe(tmp_path/'r.yaml', 'cpu').model.base == 'Alibaba-NLP/gte-multilingual-base'

def test_recipe_comments_are_one_line_each(tmp_path):
    "A card whose file name carries a line break and YAML: the comment that names it stays a comment."
    card = _card(tmp_path, name='k\nprofiles:\n  cpu: {model: {base: attacker-evil, trust_remote_code: true}}\n#.md')
    r = run_main('recipe', 'from-card', card, '-o', tmp_path/'r.yaml')
    assert r.returncode == 0, r.stderr
    text = (tmp_path/'r.yaml').read_text(encoding='utf-8')
    assert text.splitlines()[0] == ("# Converted by `sts-study recipe from-card " + str(tmp_path) +
                                    "/k\\nprofiles:\\n  cpu: {model: {base: attacker-evil, trust_remote_code: true}}\\n#.md`.")
    assert all(l.startswith('# ') for l in text.splitlines()[:4]) and text.splitlines()[4].startswith('card: ')  # 4 comment lines, then the dumper's YAML
    assert 'profiles' not in yaml.safe_load(text)

def test_duplicate_keys_in_a_recipe_are_refused(tmp_path, outputs):
    p = _recipe(tmp_path/'dup.yaml')
    p.write_text(p.read_text(encoding='utf-8') + 'model: {base: attacker/evil-encoder}\n', encoding='utf-8')
    line = len(p.read_text(encoding='utf-8').splitlines())
    r = run_main('reproduce', p, '--profile', 'smoke', '--out', tmp_path/'run')
    assert r.returncode == 2 and r.stderr == f"sts-study: error: recipe {p}: line {line}: duplicate key 'model'\n"
    assert not (tmp_path/'run').exists() and not outputs.exists()

BOMB = 'a: &a [x, x, x, x, x, x, x, x, x, x]\n' + ''.join(f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip('abcd', 'bcde'))  # 225 bytes, 111,111 values
BOMB_SAYS = 'its aliases (*name) expand it beyond 100,000 values: refused (a few bytes of them can become megabytes)'

def test_aliases_that_explode_a_card_are_refused(tmp_path):
    "A 225-byte front matter of aliases that expands into 111,111 values is refused, with the line; the card is read no further."
    (tmp_path/'bomb.md').write_text(f'---\n{BOMB}---\n# t\n', encoding='utf-8')
    r = run_main('card', 'parse', tmp_path/'bomb.md', '--partial')
    assert r.returncode == 1 and r.stderr == f'sts-study: error: bomb.md: front matter line 2: {BOMB_SAYS}\n'
    r = run_main('recipe', 'from-card', tmp_path/'bomb.md', '-o', tmp_path/'r.yaml')
    assert r.returncode == 1 and not (tmp_path/'r.yaml').exists()

def test_aliases_that_explode_a_recipe_are_refused(tmp_path, outputs):
    p = tmp_path/'alias.yaml'
    p.write_text(_recipe(tmp_path/'x.yaml').read_text(encoding='utf-8') + BOMB, encoding='utf-8')  # refused as YAML, before its keys are read
    r = run_main('reproduce', p, '--profile', 'smoke', '--out', tmp_path/'run')
    assert r.returncode == 2 and r.stderr == f"sts-study: error: recipe {p}: line 1: {BOMB_SAYS}\n"
    assert not (tmp_path/'run').exists() and not outputs.exists()

def test_the_aliases_safe_dump_writes_are_read(tmp_path):
    "A recipe written by yaml.safe_dump with one value used twice (an anchor and an alias) loads: only an explosion is refused."
    from sts_study.recipe import load_recipe
    pairs = {'data': 'korsts', 'split': 'dev', 'limit': 16}
    p = _recipe(tmp_path/'mine.yaml', eval=pairs, test=pairs)
    assert '*id001' in p.read_text(encoding='utf-8')
    r = load_recipe(p)
    assert (r.eval.data, r.test.data, r.eval.limit) == ('korsts', 'korsts', 16)

def test_a_rendered_card_cannot_forge_its_training_logs():
    "A multi-line hyperparameter value (a card's quoted '\\n') and a citation that closes its fence: `card parse` of the rendered card reads the real log."
    from sts_study.card import read_card, render_card, parse_card
    c = read_card(CARD_K)
    forged = '\n\n### Training Logs\n| Epoch | Step | Training Loss |\n|:-----:|:----:|:-------------:|\n| 9.0 | 1 | 0.0001 |\n'
    c.hyperparameters['seed'] = '42' + forged
    c.citations['Forged'] = 'x\n```' + forged + '```bibtex\ny'
    text = render_card(c)
    back = parse_card(text, 'run.md')
    assert back.training_logs == read_card(CARD_K).training_logs  # the card's own log (the forged one stays inside the citation's fence)
    assert '\n- `seed`: 42  ### Training Logs | Epoch | Step | Training Loss | |:-----:|:----:|:-------------:| | 9.0 | 1 | 0.0001 | \n' in text
    assert back.citations['Forged'] == 'x\n ```\n\n### Training Logs\n| Epoch | Step | Training Loss |\n|:-----:|:----:|:-------------:|\n| 9.0 | 1 | 0.0001 |\n ```bibtex\ny'

# 3. Loss parameters: from an allowlist on fixed modules, never imported from the recipe's text.

@pytest.mark.parametrize('name', ['cardhelper.Loss', 'os.abort'])
def test_a_loss_parameter_imports_nothing(tmp_path, outputs, monkeypatch, name):
    (tmp_path/'cardhelper.py').write_text("open('MARKER', 'w').write('ran')\nimport torch\nLoss = torch.nn.MSELoss\n")
    monkeypatch.chdir(tmp_path); monkeypatch.syspath_prepend(str(tmp_path))  # importable, as from a kernel started in this folder
    p = _recipe(tmp_path/'evil.yaml', train=[dict(name='korsts', data='korsts', split='train', convert='sts', loss='CosineSimilarityLoss',
                                                   loss_params={'loss_fct': name})])
    r = run_main('reproduce', p, '--profile', 'smoke', '--out', tmp_path/'run')
    from sts_study.losses import _allowed
    assert r.returncode == 2 and r.stderr == (f"sts-study: error: recipe mine (smoke, {p}) cannot run:\n"
                                              f"  train[korsts].loss_params.loss_fct: {name!r} is not an allowed name; allowed: {_allowed('loss_fct')}\n")
    assert 'torch.nn.modules.loss.MSELoss, ' in _allowed('loss_fct') and _allowed('loss_fct').endswith(' (or torch.nn.NAME)')
    assert not (tmp_path/'MARKER').exists() and 'cardhelper' not in sys.modules and not (tmp_path/'run').exists() and not outputs.exists()

def test_every_printed_loss_parameter_resolves_on_the_allowlist():
    "What the cards print (CosineSimilarityLoss's loss_fct, the similarity functions, distance metrics) resolves to the library's own objects."
    import torch
    from sentence_transformers import util
    from sentence_transformers.sentence_transformer import losses
    from sts_study.losses import loss_callable
    assert loss_callable('loss_fct', 'torch.nn.modules.loss.MSELoss') is torch.nn.MSELoss
    assert loss_callable('cos_score_transformation', 'torch.nn.modules.linear.Identity') is torch.nn.Identity
    assert loss_callable('similarity_fct', 'pairwise_cos_sim') is util.pairwise_cos_sim
    assert loss_callable('distance_metric', 'EUCLIDEAN', 'TripletLoss') is losses.TripletDistanceMetric.EUCLIDEAN
    assert loss_callable('similarity_fct', 'os') is None and loss_callable('distance_metric', 'os.system') is None

# 4. Training arguments the engine sets: refused before any folder, or honoured.

@pytest.mark.parametrize('key,value,why', [
    ('save_strategy', 'epoch', 'the engine saves a checkpoint at each evaluation point (resume and best-on-dev read them)'),
    ('save_steps', '7', 'the engine saves a checkpoint at each evaluation point (resume and best-on-dev read them)'),
    ('output_dir', '/tmp/elsewhere', "the engine writes checkpoints into the run folder's checkpoints/")])
def test_engine_set_arguments_are_refused_before_any_folder(tmp_path, outputs, key, value, why):
    r = run_main('reproduce', 'korean-gte', '--profile', 'smoke', '-p', f'args.{key}', value)
    assert r.returncode == 2 and f"\n  args.{key}: set by the engine ({why}); remove it from the recipe\n" in r.stderr
    assert r.stderr.startswith('sts-study: error: recipe korean-gte (smoke, ') and not outputs.exists()

def test_data_seed_and_save_total_limit_are_honoured(tmp_path):
    from sts_study.recipe import load_recipe, check_recipe
    from sts_study.train import build_args
    r = check_recipe(load_recipe('korean-gte', 'smoke', overrides={'args': {'data_seed': 7, 'save_total_limit': 3}}))
    a = build_args(r, tmp_path, 42, 'cpu', None)
    assert (a.seed, a.data_seed, a.save_total_limit, a.save_strategy.value, a.output_dir) == (42, 7, 3, 'steps', str(tmp_path/'checkpoints'))
    a = build_args(load_recipe('korean-gte', 'smoke'), tmp_path, 42, 'cpu', None)
    assert (a.data_seed, a.save_total_limit) == (42, 2)  # unset: the run's seed, the last two checkpoints
    from sts_study.recipe import recipe_problems
    assert recipe_problems(load_recipe('korean-gte', 'smoke', overrides={'args': {'save_total_limit': 0}})) == ['args.save_total_limit: a positive integer or null, not 0']

def test_a_card_printing_a_data_seed_converts_into_a_recipe_that_keeps_it(tmp_path):
    card = _card(tmp_path, **{'- `data_seed`: None': '- `data_seed`: 7'})
    from sts_study.from_card import recipe_from_card, conversion_problems
    rec, un = recipe_from_card(card, sources=[])
    assert rec['args']['data_seed'] == 7 and conversion_problems(rec, un) == []

@needs_mirror
def test_card_k_smoke_runs_with_the_engine_arguments_it_honours(tmp_path, outputs):
    "Card K's shipped recipe (smoke) trains with -p args.data_seed 7 and -p args.save_total_limit 3 (they crashed with 'multiple values for keyword argument')."
    r = run_main('train', 'korean-gte', '--profile', 'smoke', '-p', 'args.data_seed', '7', '-p', 'args.save_total_limit', '3', '--out', tmp_path/'run')
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path/'run'/'STATUS').read_text().startswith('complete')
    run = json.loads((tmp_path/'run'/'run.json').read_text())
    assert (run['recipe']['args']['data_seed'], run['recipe']['args']['save_total_limit'], run['steps']) == (7, 3, 24)

# 5. The smaller ones.

def test_a_card_hub_id_that_is_a_path_is_refused(tmp_path, outputs):
    card = _card(tmp_path, **{'#### Unnamed Dataset\n\n\n* Size: 568,640': '#### Unnamed Dataset\n\n* Dataset: [x](https://huggingface.co/datasets/../../x)\n* Size: 568,640'})
    from sts_study.card import read_card
    d = read_card(card).datasets[0]
    assert (d['hub_id'], d['refused']) == (None, "the card's hub dataset id '../../x' is not a hub id (name or owner/name)")
    r = run_main('recipe', 'from-card', card, '-o', tmp_path/'r.yaml')
    assert ("unresolved: train[train-0].data: the unnamed dataset (568640 rows, columns ['sentence_0', 'sentence_1', 'sentence_2']): "
            "the card's hub dataset id '../../x' is not a hub id (name or owner/name), and its sample rows are in no data the study can reach\n") in r.stderr
    # a recipe naming such a source: refused before any folder
    p = _recipe(tmp_path/'evil.yaml', train=[dict(name='x', data={'hub': '../../x'}, loss='CosineSimilarityLoss')])
    r = run_main('reproduce', p, '--profile', 'smoke')
    assert r.returncode == 2 and "\n  train[x].data: hub dataset '../../x' is not a hub id (name or owner/name: letters, digits, '-', '_', '.'; no path)\n" in r.stderr
    assert not outputs.exists()

@pytest.mark.parametrize('card', ['../../escaped/here', '/tmp/abs', '..'])
def test_a_recipe_id_cannot_place_the_run_folder_outside_outputs(tmp_path, outputs, card):
    r = run_main('reproduce', 'korean-gte', '--profile', 'smoke', '-p', 'card', card)
    assert r.returncode == 2 and (f"\n  card: {card!r} is not a recipe id: letters, digits, '.', '_' and '-' (no path separator, no '..'), "
                                  "as run folders under outputs/ are named after it\n") in r.stderr
    assert not outputs.exists() and not (tmp_path.parent.parent/'escaped').exists()

def test_card_text_reaches_the_terminal_escaped(tmp_path):
    card = _card(tmp_path, **{'# SentenceTransformer based on Alibaba-NLP/gte-multilingual-base': '# K\x1b]0;pwned\x07\x1b[2J title\u202e'})
    r = run_main('card', 'parse', card)
    assert r.returncode == 0 and f'{card}: K\\u001b]0;pwned\\u0007\\u001b[2J title\\u202e\n' in r.stdout and '\x1b' not in r.stdout
    r = run_main('card', 'parse', card, '--json')
    assert '\x1b' not in r.stdout and json.loads(r.stdout)['title'] == 'K\x1b]0;pwned\x07\x1b[2J title\u202e'  # the same JSON, escaped
    r = run_main('card', 'audit', card)
    assert r.returncode == 0 and '\x1b' not in r.stdout + r.stderr
    r = run_main('recipe', 'from-card', card)
    assert '\x1b' not in r.stdout + r.stderr
    assert 'title: "K\\e]0;pwned\\a\\e[2J title\\u202e"\n' in r.stdout  # the dumper escapes the C0 controls, `shown` the bidi override

def test_from_card_o_replaces_a_file_whole_or_not_at_all(tmp_path):
    "-o writes beside the file and renames: a refused conversion (--strict, an argument transformers lacks) leaves the old file as it was."
    (tmp_path/'r.yaml').write_text('card: mine\n')
    card = _card(tmp_path, **{'- `data_seed`: None': '- `data_seed`: None\n- `tp_size`: 0'})
    r = run_main('recipe', 'from-card', '--strict', card, '-o', tmp_path/'r.yaml')
    assert r.returncode == 2 and (tmp_path/'r.yaml').read_text() == 'card: mine\n'
    r = run_main('recipe', 'from-card', card, '-o', tmp_path/'r.yaml')
    assert r.returncode == 0 and yaml.safe_load((tmp_path/'r.yaml').read_text(encoding='utf-8'))['card'] == 'k'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['k.md', 'r.yaml']  # no temporary left beside it

def test_derive_q4_leaves_no_half_folder(tmp_path, monkeypatch):
    "A derivation that fails half-way (the disk fills while writing the weights) leaves no destination folder; an existing one is refused first."
    import safetensors.torch
    from sts_study.models import tiny_model, derive_q4_stand_in
    tiny_model(['a b c d', 'e f g h'] * 8).save(str(tmp_path/'tiny'))
    def full(*a, **k): raise OSError(28, 'No space left on device')
    monkeypatch.setattr(safetensors.torch, 'save_file', full)
    with pytest.raises(OSError, match='No space left on device'): derive_q4_stand_in(str(tmp_path/'tiny'), tmp_path/'q4')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['tiny']
    (tmp_path/'q4').mkdir()
    with pytest.raises(FileExistsError, match='q4 exists: choose a new folder'): derive_q4_stand_in(str(tmp_path/'tiny'), tmp_path/'q4')

def test_a_recipe_cannot_set_what_the_command_line_sets(tmp_path, outputs):
    "profile, variant, variants and source are load_recipe's own (they crashed with 'multiple values for keyword argument')."
    p = _recipe(tmp_path/'evil.yaml', source='/elsewhere.yaml', profile='full')
    r = run_main('reproduce', p, '--profile', 'smoke')
    assert r.returncode == 2 and r.stderr == (f"sts-study: error: recipe {p} cannot run:\n  profile: set by the command line, not by a recipe\n"
                                              "  source: set by the command line, not by a recipe\n")
    assert not outputs.exists()
