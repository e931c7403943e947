"""The tuner's pieces without a server: ranges and scaling types, the strategies' suggestions, warm-start
results fed back in, Hyperband's pruning and the Auto median rule."""

from __future__ import annotations

import math

import pytest

from openmaker.engine.tuning.search import GridSearch, make_search
from openmaker.engine.tuning.space import RangeError, combinations, parse_ranges
from openmaker.engine.tuning.stopping import MedianRule


def _space(**ranges) -> list:
    return parse_ranges(ranges)


def test_scaling_types_map_to_distributions_and_back():
    params = _space(
        ContinuousParameterRanges=[
            {"Name": "lr", "MinValue": "0.0001", "MaxValue": "1", "ScalingType": "Logarithmic"},
            {"Name": "momentum", "MinValue": "0.9", "MaxValue": "0.999", "ScalingType": "ReverseLogarithmic"},
            {"Name": "lambda", "MinValue": "0", "MaxValue": "1000", "ScalingType": "Auto"},
        ],
        IntegerParameterRanges=[{"Name": "depth", "MinValue": "3", "MaxValue": "7"}],
        CategoricalParameterRanges=[{"Name": "booster", "Values": ["gbtree", "dart"]}],
    )
    lr, momentum, lam, depth, booster = params
    assert lr.distribution().log and not lam.distribution().log
    # reverse-log: searched as 1 - x on a log scale; the hyperparameter comes back inside the range
    dist = momentum.distribution()
    assert dist.log and math.isclose(dist.low, 0.001) and math.isclose(dist.high, 0.1)
    assert math.isclose(float(momentum.text(0.01)), 0.99)
    assert math.isclose(momentum.internal("0.99"), 0.01)
    assert momentum.internal("0.5") is None and depth.internal("9") is None and booster.internal("x") is None
    assert depth.text(5) == "5" and booster.text("dart") == "dart"
    assert combinations(params) is None and combinations([depth, booster]) == 10


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        ({"ContinuousParameterRanges": [{"Name": "a", "MinValue": "2", "MaxValue": "1"}]}, "greater than its MaxValue"),
        ({"IntegerParameterRanges": [{"Name": "a", "MinValue": "1.5", "MaxValue": "3"}]}, "is not an integer"),
        ({"ContinuousParameterRanges": [{"Name": "a", "MinValue": "x", "MaxValue": "3"}]}, "is not a number"),
        ({"ContinuousParameterRanges": [{"Name": "a", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}]},
         "only values greater than 0"),
        ({"IntegerParameterRanges": [{"Name": "a", "MinValue": "0", "MaxValue": "1", "ScalingType": "ReverseLogarithmic"}]},
         "cannot use ReverseLogarithmic"),
        ({"CategoricalParameterRanges": [{"Name": "a", "Values": []}]}, "has no values"),
        ({"CategoricalParameterRanges": [{"Name": "a", "Values": ["1"]}],
          "IntegerParameterRanges": [{"Name": "a", "MinValue": "0", "MaxValue": "1"}]}, "more than one parameter range"),
    ],
)
def test_ranges_the_service_refuses(ranges, message):
    with pytest.raises(RangeError, match=message):
        parse_ranges(ranges)


def test_strategies_suggest_inside_the_ranges_and_learn_from_results():
    space = {"": _space(ContinuousParameterRanges=[{"Name": "x", "MinValue": "-1", "MaxValue": "1"}])}
    for strategy in ("Bayesian", "Random"):
        search = make_search(strategy, space, False, 5, 20, None)
        assert search.add_finished("", {"x": "0.5"}, 0.25) and not search.add_finished("", {"x": "3"}, 9.0)
        for _ in range(12):
            suggestion = search.ask()
            x = float(suggestion.tuned["x"])
            assert -1 <= x <= 1
            search.tell(suggestion, x * x)
        best = search.study.best_value
        assert best < 0.25  # it found better than the warm-start point
    again = [make_search("Random", space, False, 5, 20, None).ask().tuned for _ in range(2)]
    assert again[0] == again[1]  # RandomSeed makes the search repeatable


def test_multi_algorithm_space_is_conditional():
    spaces = {"a": _space(IntegerParameterRanges=[{"Name": "depth", "MinValue": "1", "MaxValue": "3"}]),
              "b": _space(CategoricalParameterRanges=[{"Name": "kind", "Values": ["p", "q"]}])}
    search = make_search("Random", spaces, True, 1, 10, None)
    seen = set()
    for _ in range(10):
        suggestion = search.ask()
        seen.add(suggestion.definition)
        assert set(suggestion.tuned) == ({"depth"} if suggestion.definition == "a" else {"kind"})
        search.tell(suggestion, 1.0)
    assert seen == {"a", "b"}


def test_grid_tries_each_combination_once_and_resumes():
    spaces = {"": _space(CategoricalParameterRanges=[{"Name": "a", "Values": ["1", "2"]},
                                                     {"Name": "b", "Values": ["x", "y", "z"]}])}
    grid = make_search("Grid", spaces, True, None, 6, None)
    assert isinstance(grid, GridSearch)
    assert grid.tried("", {"a": "2", "b": "y"})
    combos = []
    while (suggestion := grid.ask()) is not None:
        combos.append((suggestion.tuned["a"], suggestion.tuned["b"]))
    assert len(combos) == 5 and ("2", "y") not in combos and len(set(combos)) == 5


def test_hyperband_prunes_worse_jobs_and_never_the_best():
    space = {"": _space(ContinuousParameterRanges=[{"Name": "x", "MinValue": "0", "MaxValue": "1"}])}
    search = make_search("Hyperband", space, False, 3, 12, (1, 9))
    suggestions = [search.ask() for _ in range(12)]
    for epoch in range(1, 10):  # job i's loss is i + 1/epoch: job 0 is the best at every epoch
        for i, suggestion in enumerate(suggestions):
            if not suggestion.pruned:
                search.report(suggestion, epoch, i + 1 / epoch)
    assert not suggestions[0].pruned
    assert 0 < sum(s.pruned for s in suggestions) < 12


def test_median_rule_stops_jobs_worse_than_the_median_of_running_averages():
    rule = MedianRule(maximize=True)
    curve = [0.5, 0.6, 0.7, 0.8]
    assert not rule.should_stop([0.1])  # nothing to compare with yet
    for shift in (0.0, 0.01, -0.01):
        rule.add_finished([v + shift for v in curve])
    assert rule.should_stop([0.2])
    assert not rule.should_stop([0.55])
    assert not rule.should_stop([0.5, 0.6, 0.7, 0.8, 0.9])  # no earlier job reached epoch 5
