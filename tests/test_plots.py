"""The chapters' tables (:mod:`elastic.plots`): DataFrames that a cell shows as an HTML table, one
row per item, columns with headers, numbers formatted as the page shows them. Each test hands a
table the smallest results it reads."""

import pandas as pd
import pytest

from elastic import plots


def check(table, index, columns, n_rows):
    assert isinstance(table, pd.DataFrame)
    assert list(table.index.names) == index and list(table.columns) == columns and len(table) == n_rows
    assert "<table" in table._repr_html_()


def test_huffman_and_brute_force_tables():
    res = {"huffman": {"random": [{"n": 8, "entropy": 2.72164, "huffman": 2.76171},
                                  {"n": 1024, "entropy": 8.93981, "huffman": 8.96983}]},
           "exact": {"by_depth": [{"d": 2, "entropy": 1.4981, "brute_force": 4.9492, "brute_force_huffman": 4.991,
                                   "parse_segments_times_h": 4.9461, "thm_2_5": 2.0283}]}}
    table = plots.huffman_table(res)
    check(table, ["symbols"], ["entropy H (bits)", "Huffman (bits)"], 2)
    assert table.loc["1,024", "Huffman (bits)"] == "8.9698"
    table = plots.brute_force_table(res)
    check(table, ["d"], ["H_d", "brute force", "brute force (Huffman)", "segments × H_d", "Thm 2.5"], 1)
    assert table.loc[2, "Thm 2.5"] == "2.028"


def test_joint_table():
    res = {"rows": [{"ratio": 5, "own": [1.1441, 1.2523], "joint": [1.1652, 1.5104], "acl": [2.1341, 0.3822],
                     "arxiv": [1.2593, -0.2961]}]}
    table = plots.joint_table(res)
    check(table, ["|D1|/|D2|"], ["γ1 own code", "γ1 joint code", "γ2 own code", "γ2 joint code",
                                 "ACL 1", "ACL 2", "arXiv 1", "arXiv 2"], 1)
    assert table.loc[5, "γ2 joint code"] == "1.510" and table.loc[5, "arXiv 2"] == "-0.296"


def test_code_lengths_and_arithmetic_tables():
    res = {"lengths": [{"text": "prose", "coder": "zlib", "kind": "compressor", "bits": 4200.0, "n_tokens": 1000,
                        "bits_per_byte": 4.2},
                       {"text": "prose", "coder": "tiny", "kind": "model", "bits": 924.06, "n_tokens": 100,
                        "bits_per_token": 9.2306, "bits_per_byte": 0.924}],
           "arithmetic": [{"model": "tiny", "text": "prose", "n_tokens": 100, "n_bits": 938, "ideal_bits": 936.891,
                           "overhead_bits": 1.109, "tokens_round_trip": True}],
           "run": {"arithmetic_seconds": [{"encode_seconds": 0.23, "decode_seconds": 0.19}]}}
    table = plots.code_lengths_table(res)
    check(table, ["text", "coder"], ["bits", "tokens", "bits/token", "bits/byte"], 2)
    assert list(table.index) == [("prose", "tiny"), ("prose", "zlib")]  # cheapest first
    assert table.loc[("prose", "tiny"), "bits/token"] == "9.231" and table.loc[("prose", "zlib"), "bits/token"] == "-"
    table = plots.arithmetic_table(res)
    check(table, ["model", "text"], ["tokens", "bits", "log-loss (bits)", "overhead (bits)", "decoded",
                                     "encode (s)", "decode (s)"], 1)
    assert table.loc[("tiny", "prose"), "overhead (bits)"] == "1.11" and table.loc[("tiny", "prose"), "decoded"] == "yes"


def test_mass_distribution_tables():
    fit = {"alpha": 1.404, "c": 0.8163, "n_tail": 119, "ks": 0.0751, "ks_pvalue": 0.041, "lr_lognormal": -1.23,
           "lr_lognormal_p": 0.4551, "pareto_mean": float("inf")}
    res = {"fits": [{"family": "generated", "dataset": "iid-4", "depth": 5, "n_leaves": 340, "n_distinct": 119,
                     "mean_x": 1.0, "status": "ok", "whole": fit, "tail": {**fit, "alpha": 1.0123}},
                    {"family": "generated", "dataset": "iid-4", "depth": 2, "n_leaves": 5, "n_distinct": 5,
                     "mean_x": 1.0, "status": "skipped: 5 leaves, fewer than 2 min_tail"}],
           "homogeneity": [{"depth": 3, "kind": "tail", "q": 4.21, "df": 3, "p": 0.2391, "alphas": [1.13, 0.921]}]}
    table = plots.trees_table(res)
    check(table, ["family", "dataset", "d"], ["M", "distinct X", "mean X", "status"], 2)
    assert table.loc[("generated", "iid-4", 2), "status"] == "skipped: 5 leaves, fewer than 2 min_tail"
    table = plots.fits_table(res)  # the fitted tree only, whole and tail
    check(table, ["tree", "fit"], ["α", "c", "n tail", "KS", "p (KS)", "LR vs lognormal", "p (LR)", "E[X]"], 2)
    assert table.loc[("generated/iid-4 d=5", "tail"), "α"] == "1.01"
    assert table.loc[("generated/iid-4 d=5", "whole"), "E[X]"] == "inf"
    table = plots.homogeneity_table(res)
    check(table, ["d", "fit"], ["Q", "df", "p", "α of each dataset"], 1)
    assert table.loc[(3, "tail"), "p"] == "0.24" and table.loc[(3, "tail"), "α of each dataset"] == "1.13, 0.92"


def test_hookes_law_tables():
    ce = {"delta": [0.000110, 0.0001112, -0.00194], "size_times_delta": [1104.0, 11.12, -19.4]}
    res = {"sizes": [1000000, 100000, 10000],
           "springs": {"elongation": [1e-06, 1e-05, 0.0001], "k_times_elongation": [1.0, 1.0, 1.0]},
           "scenarios": {"disjoint": [{"perturbation_size": 1000, "cross_entropy": ce}],
                         "overlap": [{"perturbation_size": 100, "cross_entropy": ce}]}}
    table = plots.springs_table(res)
    check(table, ["spring i"], ["k_i = |D_i|", "elongation F/k_i", "k_i × elongation"], 3)
    assert table.loc[1, "k_i = |D_i|"] == "1,000,000" and table.loc[3, "elongation F/k_i"] == "0.0001"
    table = plots.invariant_table(res)
    check(table, ["family", "|D3|"], ["dCE_1", "dCE_2", "dCE_3", "|D_1| dCE_1", "|D_2| dCE_2", "|D_3| dCE_3"], 2)
    assert table.loc[("disjoint", "1,000"), "|D_1| dCE_1"] == "1.1e+03"
    assert table.loc[("overlap", "100"), "dCE_3"] == "-0.00194"


def test_resistance_table_means_over_seeds():
    def seed(inverse, forward):
        return {"pairs": [{"i": 1, "j": 2, "inverse": inverse, "forward": forward, "inverse_kl": 0.1, "forward_kl": 0.3}]}

    res = {"rows": [{"model": "tiny", "dataset": "reviews", "seeds": [seed(2.0, 2.05), seed(2.2, 2.05)]}]}
    table = plots.resistance_table(res)
    check(table, ["model", "dataset", "slices"], ["inverse", "forward", "Δ CE", "Δ KL"], 1)
    row = table.loc[("tiny", "reviews", "θ1,θ2")]
    assert (row["inverse"], row["Δ CE"], row["Δ KL"]) == ("2.1000", "-0.0500", "+0.2000")


def panel(first_side, second_sizes, mean):
    return {"model": "tiny", "dataset": "reviews", "method": "sft", "seeds": [{}, {}], "n_pairs": 16,
            "first_side": first_side, "first_sizes": [4, 64], "second_sizes": second_sizes,
            "curves": {"base": -0.04851, "mean": mean}}


def test_rebound_table_rows_per_first_stage_amount_and_columns_per_second():
    res = {"panels": [panel("positive", [2, 4], [[-0.03791, -0.0504, -0.0646], [0.87141, 0.8026, 0.7098]]),
                      panel("negative", [2, 8], [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])]}
    table = plots.rebound_table(res)
    check(table, ["grid", "first stage"], ["θ0", "then 0", "then 2", "then 4", "then 8"], 4)
    grid = "tiny on reviews (sft, 2 seeds × 16 pairs)"
    assert table.loc[(grid, "64 positive"), "then 0"] == "+0.8714" and table.loc[(grid, "4 positive"), "θ0"] == "-0.0485"
    # a grid without an amount leaves its cell empty
    assert table.loc[(grid, "4 negative"), "then 4"] == "" and table.loc[(grid, "4 negative"), "then 8"] == "+0.3000"


@pytest.mark.parametrize("last", [64, 4])
def test_kl_table_one_row_per_positive_amount(last):
    rows = {"first": {"positive_size": 4, "post_alignment_kl": 0.00046142, "kl_after_negative": 0.021523,
                      "negative_needed": 0.0},
            "last": {"positive_size": last, "post_alignment_kl": 0.082231, "kl_after_negative": 0.051774,
                     "negative_needed": None}}
    res = {"kl": {"panels": [{"model": "tiny", "table": {"epsilon": 0.01, "negative_size": 32, "rows": rows}}]}}
    table = plots.kl_table(res)
    columns = ["KL to θ0", "negative samples", "KL to θ0 after them", "ε", "negative samples to reach ε"]
    if last == 4:  # a grid of one positive amount: one row, not the same row twice
        check(table, ["model", "positive samples"], columns, 1)
        return
    check(table, ["model", "positive samples"], columns, 2)
    assert table.loc[("tiny", 4), "KL to θ0"] == "0.0004614" and table.loc[("tiny", 4), "negative samples to reach ε"] == "none: it is below ε before any"
    assert table.loc[("tiny", 64), "negative samples to reach ε"] == "not within the grid"
