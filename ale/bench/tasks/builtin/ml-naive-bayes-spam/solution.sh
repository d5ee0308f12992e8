#!/bin/bash
cat > /app/nb.py <<'PY'
"""Multinomial Naive Bayes with additive smoothing; normalisation by log-sum-exp."""
import re
from collections import Counter

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text):
    return _TOKEN.findall(text.lower())


class MultinomialNB:
    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, docs, labels):
        self.classes_ = sorted(set(labels))
        counts = {c: Counter() for c in self.classes_}
        ndocs = Counter(labels)
        for d, c in zip(docs, labels):
            counts[c].update(tokenize(d))
        vocab = sorted(set().union(*counts.values()))
        self.vocab_ = {w: i for i, w in enumerate(vocab)}
        C = np.array([[counts[c][w] for w in vocab] for c in self.classes_], dtype=float)
        self.class_log_prior_ = np.log(np.array([ndocs[c] for c in self.classes_]) / len(docs))
        denom = C.sum(1, keepdims=True) + self.alpha * len(vocab)
        self.feature_log_prob_ = np.log((C + self.alpha) / denom)
        return self

    def _scores(self, docs):
        S = np.tile(self.class_log_prior_, (len(docs), 1))
        for i, d in enumerate(docs):
            idx = [self.vocab_[t] for t in tokenize(d) if t in self.vocab_]
            if idx:
                S[i] += self.feature_log_prob_[:, idx].sum(1)
        return S

    def predict_log_proba(self, docs):
        S = self._scores(docs)
        m = S.max(1, keepdims=True)
        return S - (m + np.log(np.exp(S - m).sum(1, keepdims=True)))

    def predict(self, docs):
        return [self.classes_[i] for i in self._scores(docs).argmax(1)]


if __name__ == "__main__":
    def read(path):
        with open(path) as fh:
            next(fh)
            return [line.rstrip("\n").split("\t", 1) for line in fh if line.strip()]

    train = read("/app/data/train.tsv")
    test = read("/app/data/test.tsv")
    model = MultinomialNB().fit([t for _, t in train], [lab for lab, _ in train])
    preds = model.predict([t for _, t in test])
    with open("/app/predictions.tsv", "w") as fh:
        fh.write("id\tlabel\n")
        fh.writelines(f"{i}\t{p}\n" for (i, _), p in zip(test, preds))
PY
python3 /app/nb.py
