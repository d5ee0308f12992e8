import math
import sys
from collections import Counter

import numpy as np
import pytest

sys.path.insert(0, "/tests")
from gen import make  # noqa: E402

sys.path.insert(0, "/app")
from nb import MultinomialNB, tokenize  # noqa: E402

DOCS = ["Win CASH now!!", "cash prize, claim now", "see you at lunch", "lunch now? ok",
        "ok see you later", "WIN a free prize"]
LABELS = ["spam", "spam", "ham", "ham", "ham", "spam"]


def ref_log_posterior(docs, labels, query, alpha):
    classes = sorted(set(labels))
    vocab = set(w for d in docs for w in tokenize(d))
    out = []
    for q in query:
        scores = []
        for c in classes:
            cnt = Counter(w for d, l in zip(docs, labels) if l == c for w in tokenize(d))
            total = sum(cnt.values())
            s = math.log(labels.count(c) / len(labels))
            s += sum(math.log((cnt[w] + alpha) / (total + alpha * len(vocab)))
                     for w in tokenize(q) if w in vocab)
            scores.append(s)
        m = max(scores)
        lse = m + math.log(sum(math.exp(s - m) for s in scores))
        out.append([s - lse for s in scores])
    return np.array(out)


def test_tokenize():
    assert tokenize("Hello, WORLD! it's 2am... e-mail_me") == ["hello", "world", "it", "s", "2am",
                                                               "e", "mail", "me"]


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_log_proba_exact(alpha):
    m = MultinomialNB(alpha=alpha).fit(DOCS, LABELS)
    assert m.classes_ == ["ham", "spam"]
    q = ["free cash", "see you tonight zebra", "", "lunch lunch lunch prize"]
    got = np.asarray(m.predict_log_proba(q))
    assert got.shape == (4, 2)
    assert np.allclose(got, ref_log_posterior(DOCS, LABELS, q, alpha), atol=1e-9)
    assert m.predict(q)[:2] == ["spam", "ham"]


def test_default_alpha_is_one():
    q = ["win ok"]
    assert np.allclose(MultinomialNB().fit(DOCS, LABELS).predict_log_proba(q),
                       ref_log_posterior(DOCS, LABELS, q, 1.0), atol=1e-9)


def test_long_documents_stable():
    m = MultinomialNB().fit(DOCS, LABELS)
    long_doc = " ".join(["cash prize see you lunch"] * 2000)
    with np.errstate(all="raise", under="ignore"):
        lp = np.asarray(m.predict_log_proba([long_doc, "win " * 5000]))
    assert np.all(np.isfinite(lp))
    assert np.allclose(np.log(np.exp(lp).sum(1)), 0, atol=1e-9)
    assert np.allclose(lp, ref_log_posterior(DOCS, LABELS, [long_doc, "win " * 5000], 1.0), atol=1e-6)


def test_three_classes():
    docs = ["a b", "b c", "c d", "d e", "e a"]
    labels = ["x", "y", "z", "x", "y"]
    m = MultinomialNB(alpha=0.3).fit(docs, labels)
    assert m.classes_ == ["x", "y", "z"]
    assert np.allclose(m.predict_log_proba(["a c e", "q"]),
                       ref_log_posterior(docs, labels, ["a c e", "q"], 0.3), atol=1e-9)


def test_predictions_accuracy():
    _, test = make()
    with open("/app/predictions.tsv") as fh:
        header = fh.readline().rstrip("\n")
        rows = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
    assert header == "id\tlabel"
    pred = {int(i): lab for i, lab in rows}
    assert sorted(pred) == list(range(len(test)))
    acc = np.mean([pred[i] == lab for i, (lab, _) in enumerate(test)])
    assert acc >= 0.95, acc
