from __future__ import annotations

from syncaudit.index.mentions import NameMatcher


def test_names_of_two_to_four_words_are_found_case_folded() -> None:
    matcher = NameMatcher.of(
        [(1, "Anna Virtanen"), (2, "Jean-Luc O'Brien Picard"), (3, "Madonna"), (4, None)]
    )
    assert len(matcher) == 2  # one-word names match nothing on their own
    assert matcher.find("Coaching: ANNA virtanen, room 2") == {1}
    assert matcher.find("call jean-luc o'brien picard") == {2}
    assert matcher.find("Anna met Virtanen") == set()
    assert matcher.find("") == set()


def test_a_shared_name_links_every_holder_and_one_holder_once() -> None:
    matcher = NameMatcher()
    for sid in (5, 6, 6):
        matcher.add(sid, "Matti Meikäläinen")
    matcher.add(7, "matti meikäläinen")
    assert matcher.find("Matti Meikäläinen / Matti Meikäläinen") == {5, 6, 7}
    single = NameMatcher.of([(8, "Liisa Laine"), (8, "Liisa Laine")])
    assert single.find("Liisa Laine") == {8}
