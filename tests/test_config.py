import dataclasses

import pytest
import yaml

from elastic import config, experiments, results
from elastic.errors import ElasticError
from elastic.notebook import configure, injected_parameters


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(ElasticError) as info:
        experiments.load_config("token_tree", "nosuch")
    assert str(info.value) == "unknown preset 'nosuch'; valid presets: smoke, cpu, colab, paper"


def test_unknown_parameter_lists_valid_ones():
    with pytest.raises(ElasticError, match=r"unknown parameter\(s\) n_seqs for token_tree; valid parameters: preset, seed, n_sequences"):
        experiments.load_config("token_tree", "smoke", n_seqs=3)


def test_unknown_experiment():
    with pytest.raises(ElasticError, match="unknown experiment 'nope'; valid experiments: .*token_tree"):
        experiments.load_config("nope", "smoke")


def test_wrong_type_is_an_error():
    with pytest.raises(ElasticError, match=r"n_sequences='10' should be of type int"):
        experiments.load_config("token_tree", "smoke", n_sequences="10")


def test_overrides_and_lists_become_tuples():
    cfg = experiments.load_config("token_tree", "smoke", n_sequences=7, mixture_sizes=[5, 6])
    assert cfg.n_sequences == 7 and cfg.mixture_sizes == (5, 6) and cfg.preset == "smoke"


@pytest.mark.parametrize("preset", config.PRESETS)
@pytest.mark.parametrize("name", experiments.names())
def test_every_preset_configures_every_experiment(name, preset):
    cfg = experiments.load_config(name, preset)
    assert cfg.preset == preset


@pytest.mark.parametrize("preset", config.PRESETS)
def test_preset_sections_are_experiments(preset):
    sections = yaml.safe_load((config.PRESET_DIR / f"{preset}.yaml").read_text())
    assert set(sections) == {config.SHARED, *experiments.names()}
    assert config.experiment_sections(preset) == [s for s in sections if s != config.SHARED]


def test_the_preset_files_are_the_presets():
    assert sorted(p.stem for p in config.PRESET_DIR.glob("*.yaml")) == sorted(config.PRESETS)


@pytest.fixture
def presets(tmp_path, monkeypatch):
    """A preset directory of one's own: ``write(text)`` makes its smoke.yaml."""
    monkeypatch.setattr(config, "PRESET_DIR", tmp_path)
    return lambda text: (tmp_path / "smoke.yaml").write_text(text)


def test_fine_tuning_chapters_inherit_the_shared_section(presets):
    presets("shared:\n  learning_rate: 5.0e-4\n  n_eval: 6\n  max_new_tokens: 3\n"
            "rebound:\n  n_eval: 10\ntoken_tree:\n  n_sequences: 9\n")
    cfg = experiments.load_config("rebound", "smoke")
    assert (cfg.learning_rate, cfg.n_eval, cfg.max_new_tokens) == (5e-4, 10, 3)  # its own section wins
    assert cfg.trainer_args()["learning_rate"] == 5e-4 and "bf16" not in cfg.trainer_args()
    assert experiments.load_config("rebound", "smoke", learning_rate=1e-2, n_eval=2).learning_rate == 1e-2  # --set wins
    assert experiments.load_config("token_tree", "smoke").n_sequences == 9  # a chapter that trains nothing inherits nothing
    assert config.trainer_args("smoke")["learning_rate"] == 5e-4


@pytest.mark.parametrize("section, where", [("shared", "section 'shared'"), ("rebound", "section 'rebound'")])
def test_an_unknown_key_in_a_preset_names_its_section(presets, section, where):
    sections = {"shared": {"n_eval": 4}, "rebound": {"n_eval": 4}}
    sections[section]["learning_rat"] = 0.1
    presets(yaml.safe_dump(sections))
    with pytest.raises(ElasticError, match=f"preset 'smoke' sets unknown field\\(s\\) learning_rat for rebound "
                                           f"in its {where}; valid fields: preset, seed, learning_rate"):
        experiments.load_config("rebound", "smoke")


def test_a_wrong_type_in_the_shared_section_is_an_error(presets):
    presets("shared:\n  learning_rate: 2e-4\nrebound: {}\n")  # YAML 1.1 reads 2e-4 as a string
    with pytest.raises(ElasticError, match="learning_rate='2e-4' should be of type float"):
        config.trainer_args("smoke")
    with pytest.raises(ElasticError, match="learning_rate='2e-4' should be of type float"):
        experiments.load_config("rebound", "smoke")


def test_papermill_injection_is_read_back():
    history = ["", 'preset = "cpu"\nseed = None', '# Parameters\npreset = "smoke"\nbogus = 3\n', "x"]
    assert injected_parameters({"In": history}) == ["preset", "bogus"]
    assert injected_parameters({}) == []


def test_configure_rejects_injected_unknown_parameter():
    ns = {"In": ["# Parameters\npreset = \"smoke\"\nn_seqs = 5\n"], "preset": "smoke", "n_seqs": 5}
    with pytest.raises(ElasticError, match=r"unknown parameter\(s\) n_seqs for token_tree; valid parameters: preset, seed"):
        configure("token_tree", ns)


def test_configure_uses_non_none_globals_as_overrides():
    cfg = configure("token_tree", {"preset": "smoke", "seed": None, "n_sequences": 11})
    defaults = experiments.load_config("token_tree", "smoke")
    assert cfg == dataclasses.replace(defaults, n_sequences=11)
    assert results.directory("smoke") == results.run_dir("smoke", {"n_sequences": 11})  # a run of its own
    configure("token_tree", {"preset": "smoke", "n_sequences": defaults.n_sequences})
    assert results.directory("smoke") == results.root() / "smoke"  # the preset's values: its own place


@pytest.mark.parametrize("name, value", [("n_sequences", 0), ("n_sequences", -5), ("mixture_sizes", (10, -2))])
def test_counts_and_sizes_must_be_positive(name, value):
    with pytest.raises(ElasticError, match=f"parameter {name}=.*counts and sizes must be >= 1"):
        experiments.load_config("token_tree", "smoke", **{name: value})


def test_negative_rebound_size_is_refused():
    with pytest.raises(ElasticError, match="negative_sizes=\\(-2,\\)"):
        experiments.load_config("rebound", "smoke", negative_sizes=(-2,))


def test_cli_runs_one_experiment_with_overrides(results_tmp, capsys):
    from elastic import cli, results

    assert cli.main(["run", "token_tree", "--preset", "smoke", "--set", "n_sequences=50", "mixture_sizes=[5, 3]"]) == 0
    with results.redirect("smoke", {"n_sequences": 50, "mixture_sizes": (5, 3)}):  # an override run's own place
        record = results.load("token_tree", "smoke")
    assert record["data"]["corpus"]["n_sequences"] == 50 and record["data"]["mixture"]["sizes"] == [5, 3]
    assert cli.main(["run", "token_tree", "--preset", "smoke", "--set", "bogus=1"]) == 2
    assert "unknown parameter(s) bogus" in capsys.readouterr().err


def test_cli_repeated_set_flags_all_apply(results_tmp, capsys):
    """`--set a=1 --set b=2` applies both: argparse's default "store" kept only the last --set, so
    the earlier overrides were dropped without a word (a run with `--set num_train_epochs=4 --set n_eval=32`
    silently trained one epoch)."""
    from elastic import cli, results

    assert cli.main(["run", "token_tree", "--preset", "smoke", "--set", "n_sequences=50",
                     "--set", "mixture_sizes=[5, 3]"]) == 0
    with results.redirect("smoke", {"n_sequences": 50, "mixture_sizes": (5, 3)}):  # an override run's own place
        record = results.load("token_tree", "smoke")
    assert record["data"]["corpus"]["n_sequences"] == 50 and record["data"]["mixture"]["sizes"] == [5, 3]


def test_n_generate_may_be_zero_but_not_negative():
    # 0 turns the lifecycle's sampled secondary score off (no verdict reads it); below 0 is a typo
    assert experiments.load_config("lifecycle", "smoke", n_generate=0).n_generate == 0
    with pytest.raises(ElasticError, match="n_generate=-1: give 0"):
        experiments.load_config("lifecycle", "smoke", n_generate=-1)
