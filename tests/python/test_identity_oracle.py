"""The identity graph against independent oracles: networkx's connected
components on the same links (randomised, many seeds), and the sample
generator's ground truth (pairwise precision and recall)."""
import networkx as nx
import numpy as np
import pandas as pd
import pytest

import cdpcore
from cdpcore import datagen
from cdpcore import identity as cid


def _random_links(seed):
    rng = np.random.default_rng(seed)
    nodes = int(rng.integers(50, 3000))
    n_rec = int(rng.integers(20, 4000))
    sizes = rng.integers(1, 5, size=n_rec)
    rec = np.repeat(np.arange(n_rec), sizes)
    vals = rng.integers(0, nodes, size=len(rec))
    types = rng.integers(0, 3, size=len(rec))  # three types: equal numbers of different types differ
    return rec, types, vals, n_rec


@pytest.mark.parametrize("seed", range(40))
def test_persons_are_networkx_components_without_limits(seed):
    rec, types, vals, n_rec = _random_links(seed)
    names = np.array(["t0", "t1", "t2"])
    labels = [f"{names[t]}:{v}" for t, v in zip(types, vals)]
    g = cdpcore.IdentityGraph(max_identifiers=2**32 - 1)  # no limits at all
    for t in names:
        g.register_type(str(t), normalizer="none")
    times = np.random.default_rng(seed + 1000).integers(0, 50, size=n_rec)  # ties on purpose
    r = cid.link_long(g, rec, names[types], [str(v) for v in vals], time=times, source="s")
    assert r.records == n_rec and r.conflicts == 0
    # networkx on the same links: each record joins its identifiers.
    G = nx.Graph()
    G.add_nodes_from(labels)
    df = pd.DataFrame({"rec": rec, "label": labels})
    first = df.groupby("rec")["label"].transform("first")
    G.add_edges_from(zip(first, df["label"]))
    expected = {frozenset(c) for c in nx.connected_components(G)}
    ords = {}
    for lab in set(labels):
        t, v = lab.split(":")
        ords.setdefault(g.ordinal_of(t, v), set()).add(lab)
    got = {frozenset(s) for s in ords.values()}
    assert None not in ords
    assert got == expected
    assert g.stats()["persons"] == len(expected)
    assert len(g.persons()) == len(expected)


def test_removals_split_like_networkx_on_the_remaining_links():
    rng = np.random.default_rng(5)
    g = cdpcore.IdentityGraph(max_identifiers=2**32 - 1)
    g.register_type("id", normalizer="none")
    records = [[f"n{x}" for x in rng.integers(0, 300, size=rng.integers(1, 4))] for _ in range(600)]
    ids = []
    for i, r in enumerate(records):
        ids.append(g.link([("id", v) for v in r], time=i).record_ids[0])
    alive = [True] * len(records)
    for i in rng.choice(len(records), size=150, replace=False):
        g.remove_record(int(ids[i]))
        alive[i] = False
    G = nx.Graph()
    for r, a in zip(records, alive):
        if a:
            G.add_nodes_from(r)
            G.add_edges_from((r[0], x) for x in r[1:])
    for comp in nx.connected_components(G):
        comp = sorted(comp)
        o = {g.ordinal_of("id", v) for v in comp}
        assert len(o) == 1 and None not in o
        assert g.identifier_count(o.pop()) == len(comp)
    assert g.stats()["persons"] == nx.number_connected_components(G)


def _evaluate(g, links, recs):
    truth = recs["true_person"].to_numpy()[links["record"].to_numpy()]
    df = pd.DataFrame({"type": links["type"].astype(str), "canonical": links["canonical"], "flags": links["flags"],
                       "truth": truth})
    df = df[df["canonical"] != ""]
    shared = (df["flags"] & (datagen.LINK_FLAGS["placeholder"] | datagen.LINK_FLAGS["shared_device"])) != 0
    ident = df[~shared].drop_duplicates(["type", "canonical"]).reset_index(drop=True)
    assert ident.groupby(["type", "canonical"]).truth.nunique().max() == 1
    pred = np.empty(len(ident), dtype=np.int64)
    for t, sub in ident.groupby("type"):
        pred[sub.index.to_numpy()] = cid.ordinals_of(g, t, sub["canonical"]).astype(np.int64)
    ident["pred"] = pred
    resolved = ident[ident.pred != cdpcore.NO_PERSON]

    def pairs(sizes):
        sizes = np.asarray(sizes, dtype=np.int64)
        return int((sizes * (sizes - 1) // 2).sum())

    tp = pairs(resolved.groupby(["pred", "truth"]).size())
    precision = tp / pairs(resolved.groupby("pred").size())
    recall = tp / pairs(resolved.groupby("truth").size())
    return precision, recall, ident, df[shared]


def test_precision_and_recall_against_the_generators_ground_truth():
    s = datagen.generate(persons=20_000, seed=11, identity_only=True)
    links, recs = s.links, s.records
    g = cdpcore.IdentityGraph()
    g.register_default_types()
    r = cid.link_long(g, links["record"].to_numpy(), links["type"], links["value"],
                      time=recs["time"].to_numpy(), source=recs["source"], best_effort=True)
    assert r.rejected > 0 and all(e.code_name in ("CDP_EPARSE", "CDP_EINVAL") for e in r.errors)
    precision, recall, ident, hard = _evaluate(g, links, recs)
    print(f"pairwise precision {precision:.5f} recall {recall:.5f} over {len(ident)} identifiers")
    assert precision >= 0.995
    assert recall >= 0.99
    # Placeholders never resolve to a person: they were blocked automatically.
    for t, v in [("phone", "13800000000"), ("email", "test@test.com"),
                 ("device_id", "00000000-0000-0000-0000-000000000000")]:
        assert g.ordinal_of(t, v) is None, (t, v)
    blocked = {(b.type_name, b.value) for b in g.blocked()}
    assert ("phone", "+8613800000000") in blocked
    # Shared devices (family tablets, store demo devices) do not merge true
    # persons: every person holding one has the identifiers of one true person.
    owner = dict(zip(zip(ident["type"], ident["canonical"]), ident["truth"]))
    for (t, v) in hard[["type", "canonical"]].drop_duplicates().itertuples(index=False):
        o = g.ordinal_of(t, v)
        if o is None:
            continue
        people = {owner[(i.type_name, i.value)] for i in g.identifiers_of(o) if (i.type_name, i.value) in owner}
        assert len(people) <= 1, (t, v, people)
