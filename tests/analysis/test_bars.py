"""Repeat expansion and the off-meter rule, on plain bar records."""

from musegen_cli.analysis.bars import Bar, off_meter_bars, play_counts


def bars(*lengths: float, meter: float = 4.0, **marks: dict[int, object]) -> list[Bar]:
    """Bars of the given lengths; `marks` maps a Bar field to {bar index: value}."""
    made = []
    for index, length in enumerate(lengths):
        fields = {name: values[index] for name, values in marks.items() if index in values}
        made.append(Bar(length=length, expected=meter, **fields))
    return made


def test_a_repeat_without_start_sign_goes_back_to_the_beginning() -> None:
    tune = bars(4, 4, 4, repeat_end={1: 2}, section_line_after={1: True})
    assert play_counts(tune) == [2, 2, 1]


def test_repeats_start_at_the_start_sign_or_after_the_previous_end() -> None:
    # pickup |: A B :| C :| D   -> the pickup once, A B twice, C twice (from after the first :|)
    tune = bars(1, 4, 4, 4, 4, starts_repeat={1: True}, repeat_end={2: 2, 3: 2})
    assert play_counts(tune) == [1, 2, 2, 2, 1]


def test_first_and_second_endings_are_played_once() -> None:
    # |: A B |1 C :|2 D ||
    tune = bars(4, 4, 4, 4, starts_repeat={0: True}, repeat_end={2: 2}, volta={2: 1, 3: 1})
    assert play_counts(tune) == [2, 2, 1, 1]


def test_repeat_counts_more_than_two() -> None:
    assert play_counts(bars(4, 4, repeat_end={1: 3})) == [3, 3]


def test_full_bars_agree_with_the_meter() -> None:
    assert off_meter_bars(bars(4, 4, 4)) == []


def test_pickup_and_its_complement_are_excused() -> None:
    # 1 + 3 = 4: the anacrusis and the short last bar make one bar together.
    assert off_meter_bars(bars(1, 4, 4, 3)) == []


def test_short_last_bar_without_a_matching_pickup_counts() -> None:
    assert off_meter_bars(bars(1, 4, 4, 2)) == [3]  # 1 + 2 != 4; the pickup itself is excused
    assert off_meter_bars(bars(4, 4, 3)) == [2]  # no pickup at all


def test_overlong_and_mid_section_short_bars_count() -> None:
    assert off_meter_bars(bars(4, 5, 3, 4, 2)) == [1, 2, 4]


def test_section_pickups_and_endings_complement_each_other() -> None:
    # A|: B C |1 D :|2 E || F | G H |]   with A = F = 1 beat and D = E = H = 3 beats
    tune = bars(
        1, 4, 4, 3, 3, 1, 4, 3,
        starts_repeat={1: True},
        repeat_end={3: 2},
        section_line_after={3: True, 4: True, 7: True},
    )
    assert off_meter_bars(tune) == []


def test_a_short_bar_opening_a_section_needs_a_matching_ending() -> None:
    # || then a 2-beat bar, but no section ends 2 beats short: it counts.
    tune = bars(4, 4, 2, 4, 4, section_line_after={1: True})
    assert off_meter_bars(tune) == [2]


def test_bars_without_a_meter_never_count() -> None:
    assert off_meter_bars([Bar(length=5, expected=None), Bar(length=3, expected=None)]) == []
