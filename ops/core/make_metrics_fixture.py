#!/usr/bin/env python3
"""Writes Tests/MienCoreTests/Fixtures/metrics_sklearn.json: classification metrics computed
by scikit-learn on fixed, seeded prediction sets — the independent reference for
MienCore.ClassificationMetrics (and so for the aggregator's and `mien evaluate`'s metrics).

Cases include classes with zero support, classes never predicted, a perfect and an
all-wrong classifier, a single sample and a strongly imbalanced set (where the weighted
averages differ most from the macro ones). Besides `precision_recall_fscore_support` each
case carries `classification_report`'s "macro avg" and "weighted avg" rows.

    python3 ops/core/make_metrics_fixture.py      # needs scikit-learn (pip install scikit-learn)
"""
import json
import pathlib
import random

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, classification_report, confusion_matrix, f1_score,
                             precision_recall_fscore_support, precision_score, recall_score)

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests" / "MienCoreTests" / "Fixtures" / "metrics_sklearn.json"
K = 7


def case(name, truth, pred):
    labels = list(range(K))
    p, r, f, s = precision_recall_fscore_support(truth, pred, labels=labels, zero_division=0)
    report = classification_report(truth, pred, labels=labels, output_dict=True, zero_division=0)
    return {
        "name": name,
        "truth": truth,
        "predicted": pred,
        "accuracy": accuracy_score(truth, pred),
        "precision": p.tolist(),
        "recall": r.tolist(),
        "f1": f.tolist(),
        "support": s.tolist(),
        "macro_f1": f1_score(truth, pred, labels=labels, average="macro", zero_division=0),
        "weighted_f1": f1_score(truth, pred, labels=labels, average="weighted", zero_division=0),
        "macro_precision": precision_score(truth, pred, labels=labels, average="macro", zero_division=0),
        "macro_recall": recall_score(truth, pred, labels=labels, average="macro", zero_division=0),
        "weighted_precision": precision_score(truth, pred, labels=labels, average="weighted", zero_division=0),
        "weighted_recall": recall_score(truth, pred, labels=labels, average="weighted", zero_division=0),
        "report": {k: {m: report[k][m] for m in ("precision", "recall", "f1-score", "support")}
                   for k in ("macro avg", "weighted avg")},
        "confusion": confusion_matrix(truth, pred, labels=labels).tolist(),
    }


def main():
    rng = random.Random(20261127)
    cases = []
    truth = [rng.randrange(K) for _ in range(500)]
    pred = [t if rng.random() < 0.7 else rng.randrange(K) for t in truth]
    cases.append(case("random-70pct", truth, pred))
    truth = [rng.choice([0, 3, 4, 6]) for _ in range(120)]  # classes 1, 2, 5 have zero support
    pred = [t if rng.random() < 0.5 else rng.randrange(K) for t in truth]
    cases.append(case("zero-support-classes", truth, pred))
    truth = [rng.randrange(K) for _ in range(60)]
    cases.append(case("never-predicts-some", truth, [3 if t != 6 else 6 for t in truth]))
    cases.append(case("perfect", truth, list(truth)))
    cases.append(case("all-wrong", truth, [(t + 1) % K for t in truth]))
    cases.append(case("single-sample", [2], [5]))
    truth = [6] * 150 + [3] * 30 + [0] * 6 + [5] * 2  # imbalanced; classes 1, 2, 4 have zero support
    pred = [t if rng.random() < 0.8 else rng.choice([6, 3, 2]) for t in truth]
    cases.append(case("imbalanced-zero-support", truth, pred))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"generator": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}",
                               "classes": K, "cases": cases}, indent=1) + "\n")
    print(f"wrote {OUT} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
