"""similarity.opening_words folds only a prefix of long texts: it must give exactly the
words folding the whole text gives (stored fingerprints depend on them)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.config.taxonomy import fold
from aggregator.stories.similarity import OPENING_WORDS, opening_words

# letters, accents (precomposed and combining), ligatures, punctuation and every kind of
# space: what changes under fold
ALPHABET = st.sampled_from([*"abcXYZ éÉçÇ\u0301\u0327\ufb01\u00df\u2019'.,;-_ \u00a0\t\n\u2009",
                            "\u0130"])


@settings(max_examples=400)
@given(st.lists(ALPHABET, max_size=3000).map("".join))
def test_the_prefix_gives_the_same_words_as_the_whole(text: str) -> None:
    assert opening_words(text) == fold(text).split()[:OPENING_WORDS]


def test_a_long_article_is_cut_to_its_opening() -> None:
    text = "Mot " * 5000 + "Fin"
    assert opening_words(text) == ["mot"] * OPENING_WORDS
