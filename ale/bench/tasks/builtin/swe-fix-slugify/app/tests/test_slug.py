from textkit import slugify


def test_basic():
    assert slugify("Hello World") == "hello-world"


def test_punctuation_runs():
    assert slugify("Hello,   World!!") == "hello-world"


def test_accents():
    assert slugify("Crème Brûlée") == "creme-brulee"


def test_edges():
    assert slugify("  --Already a slug--  ") == "already-a-slug"


def test_max_length():
    assert slugify("The quick brown fox", max_length=12) == "the-quick"


def test_separator():
    assert slugify("a b  c", separator="_") == "a_b_c"
