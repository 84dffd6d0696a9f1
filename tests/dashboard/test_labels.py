"""The map's town labels never overlap one another or a dot, however close the sites lie."""

import itertools
import random

from inventory.dashboard.queries import MAP_HEIGHT, MAP_WIDTH, label_box, place_labels


def _overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _check(marks, labels):
    boxes = [label["box"] for label in labels if label]
    assert not [pair for pair in itertools.combinations(boxes, 2) if _overlap(*pair)]
    for number, label in enumerate(labels):
        if label is None:
            continue
        assert label["box"] == label_box(label["anchor"], label["x"], label["y"], label["text"])
        assert label["box"][0] >= 0 and label["box"][2] <= MAP_WIDTH
        assert label["box"][1] >= 0 and label["box"][3] <= MAP_HEIGHT
        for other, mark in enumerate(marks):
            dot = (mark["x"] - mark["r"], mark["y"] - mark["r"], mark["x"] + mark["r"], mark["y"] + mark["r"])
            assert other == number or not _overlap(label["box"], dot), (label, mark)


def test_labels_of_close_towns_never_overlap():
    # Nine towns 30 px apart, each with two villages beside it: the default spot (right of the
    # dot) collides for all but the last of each row.
    marks = []
    for row, column in itertools.product(range(3), range(3)):
        x, y = 300 + column * 30, 200 + row * 30
        marks.append({"x": x, "y": y, "r": 18, "text": f"镇{row}{column}镇"})
        marks += [{"x": x + 12, "y": y + 25, "r": 10, "text": None},
                  {"x": x - 14, "y": y + 22, "r": 10, "text": None}]
    labels = place_labels(marks)
    _check(marks, labels)
    placed = [label for label in labels if label]
    assert len(placed) >= 4, "the crowd still gets some names"
    assert len({label["anchor"] for label in placed}) > 1, "labels move off the default spot"
    assert place_labels(marks) == labels, "the same map places its labels the same way"


def test_random_clusters_never_overlap():
    rng = random.Random(15)
    for _round in range(30):
        marks = [{"x": rng.uniform(0, MAP_WIDTH), "y": rng.uniform(0, MAP_HEIGHT),
                  "r": rng.choice((10, 18, 24)), "text": rng.choice((None, "新坝镇", "骆驼城镇", "高台县县库"))}
                 for _ in range(rng.randint(5, 60))]
        _check(marks, place_labels(marks))


def test_a_label_that_fits_nowhere_is_hidden():
    """A town ringed by villages keeps its dot (and its title) but prints no name."""
    town = {"x": 500, "y": 300, "r": 18, "text": "新坝镇"}
    ring = [{"x": 500 + dx, "y": 300 + dy, "r": 40, "text": None}
            for dx, dy in itertools.product((-90, 0, 90), (-90, 0, 90)) if dx or dy]
    assert place_labels([town, *ring]) == [None] + [None] * len(ring)


def test_a_lone_town_is_named_right_of_its_dot_and_one_at_the_edge_on_the_left():
    alone, edge = place_labels([{"x": 100, "y": 100, "r": 18, "text": "南华镇"},
                                {"x": MAP_WIDTH - 30, "y": 400, "r": 18, "text": "南华镇"}])
    assert alone["anchor"] == "start" and alone["x"] > 118
    assert edge["anchor"] == "end" and edge["x"] < MAP_WIDTH - 48
