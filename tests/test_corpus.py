"Real cards that sentence-transformers generated for other people's models (STS_STUDY_CORPUS, MANIFEST.tsv beside them)."
import csv
import pytest
from conftest import CORPUS

pytestmark = pytest.mark.skipif(CORPUS is None or not (CORPUS/'MANIFEST.tsv').exists(), reason='no card corpus (set STS_STUDY_CORPUS)')

def manifest(): return {r['slug']: r for r in csv.DictReader(open(CORPUS/'MANIFEST.tsv'), delimiter='\t')}

def test_trainer_cards_are_not_taken_for_fit():
    "A card written by the Trainer (named dataset and columns, proportional sampler) is not reported as fit()'s."
    from sts_study.card import read_card, card_provenance
    m = manifest()
    # the corpus card trained with named hub data (sentence-transformers/all-nli) through the Trainer
    slug = next(s for s, r in m.items() if 'sentence-transformers/all-nli' in r['dataset_ids'])
    p = card_provenance(read_card(CORPUS/f'{slug}.md', partial=True))
    assert p['writer'] == 'trainer' and p['st_version'] == m[slug]['st_version']
