"""Every tree the JSON form accepts prints as text that parses back to the same
tree (issue 16, finding 11): a call's name must be one the text form can write."""
import pytest

import cdpcore


def lit(v):
    return {"literal": v}


def test_an_unknown_function_round_trips_through_text():
    tree = {"call": "leat", "args": [lit(1), lit(2), lit(3)]}
    assert cdpcore.parse_expression(cdpcore.expression_text(tree)) == tree


@pytest.mark.parametrize("name", ["le at", "where", "9lives", "a-b"])
def test_a_call_name_the_text_cannot_write_is_rejected_with_its_path(name):
    with pytest.raises(cdpcore.ParseError, match=r"\$\.call"):
        cdpcore.expression_text({"call": name, "args": [lit(1)]})
