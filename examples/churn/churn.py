"""Churn model on the sample population: "no order in the next 60 days".

Trains the library's own logistic regression on a snapshot 60 days before the
end of the data (features as of the snapshot, label = no order in the 60 days
after it), checks it on that window, then scores everyone as of the end of
the data. Pure cdpcore + NumPy; persons are the generator's true persons
(the end-to-end demo resolves them through the identity graph instead).

    PYTHONPATH=build/<dir>/python python3 examples/churn/churn.py [persons]
"""
import sys

import numpy as np

import cdpcore
import cdpcore.datagen

DAY = 86_400_000_000
HORIZON = 60 * DAY


def features(person, time, amount, as_of, population):
    """Per person of `population`: recency (days, 400 when never), orders and
    spend in the last 90 / 365 days, RFM scores — as of `as_of`."""
    rfm = cdpcore.rfm(person, time, amount, as_of=as_of)
    idx = {int(p): i for i, p in enumerate(rfm.person)}
    x = np.zeros((len(population), 7))
    for row, p in enumerate(population):
        i = idx.get(int(p))
        if i is None:
            x[row] = [400, 0, 0, 0, 0, 0, 0]
            continue
        x[row, 0] = rfm.recency_days[i]
        x[row, 4:7] = rfm.r_score[i], rfm.f_score[i], rfm.m_score[i]
    for col, window in ((1, 90), (2, 365)):
        sel = (time <= as_of) & (time > as_of - window * DAY)
        counts = np.bincount(person[sel], minlength=int(population.max()) + 1)
        x[:, col] = counts[population]
    sel = (time <= as_of) & (time > as_of - 90 * DAY)
    spend = np.bincount(person[sel], weights=amount[sel], minlength=int(population.max()) + 1)
    x[:, 3] = spend[population]
    return x


def main(n_persons=20_000):
    data = cdpcore.datagen.generate(persons=n_persons, seed=42)
    ev = data.raw("events")
    order_code = cdpcore.datagen.names()["event_type"].index("order")
    is_order = ev["type"] == order_code
    person = ev["true_person"][is_order].astype(np.uint32)
    time = ev["time"][is_order].astype(np.int64)
    amount = ev["amount"][is_order].astype(np.float64)
    end = int(data.options["end"]) - 1

    population = np.unique(person)
    snapshot = end - HORIZON
    x_train = features(person, time, amount, snapshot, population)
    future = (time > snapshot) & (time <= snapshot + HORIZON)
    bought = np.zeros(int(population.max()) + 1, bool)
    bought[person[future]] = True
    y = (~bought[population]).astype(float)  # 1 = churned (no order in the next 60 days)
    model = cdpcore.fit_logistic(x_train, y, l2=1.0)

    p_train = model.predict(x_train)
    order = np.argsort(-p_train)
    top = order[: len(order) // 10]
    print(f"persons with orders: {len(population)}, churn rate in the window: {y.mean():.3f}")
    print(f"churn rate among the 10% scored riskiest: {y[top].mean():.3f}")

    x_now = features(person, time, amount, end, population)
    risk = model.predict(x_now)
    at_risk = population[risk > 0.7]
    print(f"scored {len(population)} persons as of the end; churn_risk > 0.7: {len(at_risk)}")
    return model, population, risk


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
