"""The rehearsal of the GPU presets on CPU: sizes scaled by one factor, every id through the
mirror, every chapter executed, nothing from the network, results of its own."""

import json
import multiprocessing
import socket
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from elastic import config, experiments, rehearse, results
from elastic.data import catalog, mirror


def test_one_factor_with_floors_and_monotonic_lists():
    assert rehearse._scale(200, 16, 4) == 13 and rehearse._scale(3, 16, 2) == 2
    assert rehearse._scale((200, 500, 1000), 16, (4, 8)) == (13, 32, 63)
    assert rehearse._scale((20, 50, 100, 200), 16, (2, 4)) == (2, 4, 7, 13)  # kept strictly increasing
    assert rehearse._scale((20, 50, 100, 200), 64, (2, 4)) == (2, 3, 4, 5)
    assert rehearse._scale((10 ** 6, 10 ** 5, 10 ** 4), 16, (10000, 1000, 100)) == (62500, 6250, 625)  # largest first


def test_a_grid_keeps_its_first_entries():
    assert rehearse._grid((1, 2, 3, 4, 5), 32, 2) == (1, 2)
    assert rehearse._grid((1, 2, 3, 4, 5), 2, 2) == (1, 2, 3)  # ceil(5 / 2) = 3
    assert rehearse._grid((1, 2, 3, 4, 5, 6, 7), 32, 4) == (1, 2, 3, 4)  # the smoke preset's length
    assert rehearse._grid((1, 2), 32, 2) == (1, 2) and rehearse._grid((9,), 32, 2) == (9,)
    assert rehearse._grid((1, 2, 3), 1, 2) == (1, 2, 3)


def test_amounts_become_whole_optimizer_steps():
    assert rehearse._whole_steps((7, 32), 32) == (32, 64) and rehearse._whole_steps((4, 8), 4) == (4, 8)
    assert rehearse._whole_steps((1, 17, 40), 16) == (16, 32, 48)


def test_the_rule_reads_each_field_from_its_type_and_name():
    """New fields follow without a change to the rule; a float list (pre-training tokens that
    label models) and structure (depths, vocabularies, alphabets, batch) are never shrunk."""
    import dataclasses

    @dataclasses.dataclass
    class Config:
        seeds: tuple[int, ...] = (0, 1, 2)
        n_pairs: int = 64
        margin_tokens: int = 64
        volumes: tuple[float, ...] = (1e12, 2e12)
        models: tuple[tuple[int, ...], ...] = ((1, 32), (2, 64))
        hub_models: tuple[str, ...] = ("a", "b")
        positive_sizes: tuple[int, ...] = (64, 256)
        alphabet_sizes: tuple[int, ...] = (2, 8)
        vocab_size: int = 16
        depths: tuple[int, ...] = (2, 3)
        per_device_train_batch_size: int = 8
        learning_rate: float = 1e-4

    assert rehearse.sizes(Config) == {"seeds": ("grid",), "n_pairs": ("count",), "margin_tokens": ("count",),
                                      "models": ("grid",), "positive_sizes": ("grid", "count")}


def test_colab_rehearsal_values(tmp_path):
    values = rehearse.overrides("rebound", rehearse.Settings("colab", 16), tmp_path)
    # the seeded grid's first amounts [64, 256] / 16 = [4, 16] and [32, 64] / 16 = [2, 4], then whole
    # optimizer steps of colab's 8 x 4 samples; its first seeds; n_pairs and margin_tokens / 16
    assert values == {"positive_sizes": [32, 64], "negative_sizes": [32, 64], "seeds": [0, 1], "n_pairs": 4,
                      "margin_tokens": 4, "n_eval": 4, "max_length": 64, "max_new_tokens": 8,
                      "num_threads": rehearse.THREADS, "gradient_checkpointing": True, "bf16": True,
                      "cache_dir": str(tmp_path / "alignment")}
    lifecycle = rehearse.overrides("lifecycle", rehearse.Settings("colab", 32), tmp_path)
    assert {k: lifecycle[k] for k in ("models", "volumes", "align_sizes", "perturb_sizes")} == {
        "models": [[1, 32], [2, 64]], "volumes": [200, 201], "align_sizes": [8, 9], "perturb_sizes": [8, 9]}
    t4 = rehearse.overrides("resistance", rehearse.Settings("colab", 16, "t4"), tmp_path)
    # a default is a size too: n_slices 3 -> the smoke preset's 2, and one optimizer step per slice
    assert t4["bf16"] is False and t4["n_slices"] == 2 and t4["n_train"] == 2 * 8 * 4
    smoke = rehearse.overrides("scaling", rehearse.Settings("paper", 64, smoke=True), tmp_path)
    assert smoke["size_models"] == ["Qwen/Qwen1.5-0.5B"] and smoke["volume_labels"] == ["0.1T"]
    # the volume with its model; a seeded grid's amounts in whole optimizer steps of 4 x 4 samples
    assert smoke["pretraining_volumes"] == [1.05e11]
    assert smoke["positive_sizes"] == [16] and smoke["negative_sizes"] == [16]
    # a chapter that names no hub id runs the smoke preset's own config in a smoke rehearsal
    cfg = experiments.load_config("mass_distribution", "colab",
                      **rehearse.overrides("mass_distribution", rehearse.Settings("colab", 16, smoke=True), tmp_path))
    assert cfg.asdict() == {**experiments.load_config("mass_distribution", "smoke").asdict(), "preset": "colab"}


def test_every_preset_id_is_in_the_catalog():
    for preset in ("colab", "paper"):
        found = rehearse.ids(preset)
        assert all(i in catalog.MODELS for k in ("models", "classifiers", "cost_models") for i in found[k])
        assert set(found["datasets"]) <= set(catalog.DATASETS) and found["models"]


def test_no_network_refuses_other_hosts_here_and_in_child_processes():
    refused = []
    server = socket.create_server(("127.0.0.1", 0))
    try:
        with mirror.no_network(refused):
            with pytest.raises(mirror.NetworkRefused, match="everything must come from the mirror"):
                socket.create_connection(("203.0.113.7", 443), timeout=1)  # TEST-NET-3: never reached
            socket.create_connection(server.getsockname(), timeout=1).close()  # loopback is this machine
            code = "import socket; socket.create_connection(('203.0.113.7', 80), timeout=1)"
            child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    finally:
        server.close()
    assert refused == [("203.0.113.7", 443)]
    assert child.returncode == 1 and "during a rehearsal" in child.stderr


def test_gpu_settings_start(tmp_path, results_tmp, root):
    """Gradient checkpointing with fp32 weights (T4) and with bf16 weights and autocast (L4, A100,
    H100), at colab's batch 8 and accumulation 4, on the Qwen2.5 stand-in with LoRA."""
    hub = mirror.build()
    with mirror.offline(hub), mirror.no_network(), rehearse._torch_threads(rehearse.THREADS):  # as rehearse runs it
        report = rehearse.settings_check("colab", tmp_path, root, launch=False)
    assert report["model"] == "Qwen/Qwen2.5-0.5B" and "accelerate" not in report
    assert [v["weights"] for k, v in report.items() if k != "model"] == ["torch.float32", "torch.bfloat16"]


def test_smoke_rehearsal_of_both_presets(results_tmp, root):
    """make test's rehearsal: every id of colab and paper resolved through the mirror (pickled repos
    refused, converted, then loaded), every chapter executed, no connection attempted, and results
    that say they are a rehearsal, away from results/<preset>/. Slow: about 3 min on a loaded machine.
    colab's rehearsal runs in a second process while paper's runs here: each takes one thread (THREADS),
    so on 2 cores the pair takes the time of the longer one. The shared mirror is built first, once."""
    mirror.build()
    kwargs = {"smoke": True, "gpu": "t4", "notebooks": False, "root": root}
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        colab = pool.submit(rehearse.rehearse, "colab", **kwargs)
        reports = {"paper": rehearse.rehearse("paper", **kwargs), "colab": colab.result()}
    for preset, report in reports.items():
        found = rehearse.ids(preset)
        assert set(report["ids"]) >= {i for v in found.values() for i in v}
        bin_only = {i for i in report["ids"] if i in catalog.MODELS and not catalog.MODELS[i].safetensors}
        assert bin_only and all(report["ids"][i]["converted"] for i in bin_only)
        assert list(report["chapters"]) == config.experiment_sections(preset)
        assert report["refused_connections"] == []
        out = Path(report["results"])
        assert out.parent == results_tmp and out.name.startswith(f"rehearsal-{preset}-")
        assert not (results_tmp / preset).exists()
        for chapter, row in report["chapters"].items():
            record = json.loads(Path(row["results"]).read_text())
            assert record["provenance"]["rehearsal"] == report["settings"], chapter
            assert Path(row["results"]).is_relative_to(out)
        assert json.loads((out / "rehearsal.json").read_text())["settings"] == report["settings"]
    assert results.root() == results_tmp


def test_glued_and_shown_figures_are_counted(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(outputs=[
        nbformat.v4.new_output("display_data", data={"application/papermill.record/image/png": "iVBO"}),
        nbformat.v4.new_output("display_data", data={"image/png": "iVBO", "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={"application/papermill.record/text/markdown": "0.5"})])]
    nbformat.write(nb, tmp_path / "x.ipynb")
    assert rehearse.figures(tmp_path / "x.ipynb") == 2


def test_bad_arguments_are_one_line_errors(results_tmp):
    from elastic.errors import ElasticError

    for kwargs, message in (({"only": ["nosuch"]}, "unknown chapter.*nosuch.*chapters of colab: token_tree"),
                            ({"gpu": "v100"}, "unknown GPU class 'v100'"), ({"factor": 0}, "give a factor of 1")):
        with pytest.raises(ElasticError, match=message):
            rehearse.rehearse("colab", **kwargs)
    with pytest.raises(ElasticError, match="rehearse the GPU presets only"):
        rehearse.rehearse("cpu")
