"End-to-end tests of `sts-study data` through the console script."
import pytest
from conftest import run_cli, copy_tree_writable, needs_mirror, MIRROR, CPU_MODEL

@pytest.mark.parametrize('cmd', [[], ['data'], ['data', 'list'], ['data', 'fetch'], ['data', 'stats']])
def test_help(cmd):
    "The console script starts and prints each command's usage (exit 0)."
    r = run_cli(*cmd, '--help')
    assert r.returncode == 0 and 'usage: sts-study' in r.stdout

@needs_mirror
def test_fetch_all_mirrored(tmp_path):
    "`data fetch` of the four mirrored datasets verifies their 9 files against the registry's checksums."
    r = run_cli('data', 'fetch', '-q', 'korsts', 'kornli-xnli', 'hebnli', 'hebrew-stsb', env={'STS_STUDY_CACHE': tmp_path})
    assert r.returncode == 0, r.stderr
    assert r.stdout.count('ok ') == 9

@needs_mirror
def test_list(tmp_path):
    "`data list`: KorSTS's split sizes, where it is read from and its license; a dataset the mirror lacks shows as missing."
    r = run_cli('data', 'list', env={'STS_STUDY_CACHE': tmp_path})
    assert r.returncode == 0
    line = next(l for l in r.stdout.splitlines() if l.startswith('korsts '))
    assert '5,749/1,500/1,379' in line and 'mirror' in line and 'CC BY-SA 4.0' in line
    assert 'missing' in next(l for l in r.stdout.splitlines() if l.startswith('hebnli-train'))

@needs_mirror
def test_corrupt_mirror_byte(tmp_path):
    "One changed byte in the mirror's sts-dev.tsv: fetch fails naming it, exit != 0, nothing cached."
    m = copy_tree_writable(MIRROR/'kakaobrain', tmp_path/'mirror/kakaobrain')
    f = m/'kor-nlu-datasets/KorSTS/sts-dev.tsv'
    b = bytearray(f.read_bytes()); b[1000] = (b[1000] + 1) % 256; f.write_bytes(bytes(b))
    cache = tmp_path/'cache'
    r = run_cli('data', 'fetch', '-q', 'korsts', env={'STS_STUDY_MIRROR': tmp_path/'mirror', 'STS_STUDY_CACHE': cache})
    assert r.returncode == 1
    assert 'checksum mismatch for kakaobrain/kor-nlu-datasets/KorSTS/sts-dev.tsv' in r.stderr
    assert 'ok       korsts/train' in r.stdout  # the good files still verify
    assert not list(cache.rglob('sts-dev.tsv'))

def test_missing_file_names_url(tmp_path):
    "A file neither mirrored nor downloadable: exit 1, naming the file, its upstream URL and where to put it."
    r = run_cli('data', 'fetch', '-q', 'hebnli-train',
                env={'STS_STUDY_MIRROR': tmp_path, 'STS_STUDY_BASE_URL': 'http://127.0.0.1:9', 'STS_STUDY_CACHE': tmp_path/'c'})
    assert r.returncode == 1
    assert 'NNLP-IL/HebNLI/HebNLI_train.jsonl' in r.stderr and 'https://media.githubusercontent.com/media/NNLP-IL/HebNLI' in r.stderr
    assert 'put it at' in r.stderr

@needs_mirror
def test_stats_korsts_train():
    "The documented call, with the cpu profile's tokenizer resolved like its model."
    r = run_cli('data', 'stats', 'korsts', '--split', 'train', '--tokenizer', CPU_MODEL)
    assert r.returncode == 0, r.stderr
    assert 'korsts train: 5,749 rows; statistics over the first 1,000' in r.stdout
    assert 'sentence1  string  min: 7 tokens, mean: 13.17 tokens, max: 36 tokens' in r.stdout
