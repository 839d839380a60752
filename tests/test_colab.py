"""The Colab install cell is one setting: _config.yml's repository.url, written into every notebook."""

import shutil

import jupytext
import pytest

from elastic import cli, colab
from elastic.errors import ElasticError


def _copy(root, tmp_path, url):
    (tmp_path / "notebooks").mkdir()
    for name in ("token_tree", "rebound"):
        shutil.copy(root / "notebooks" / f"{name}.py", tmp_path / "notebooks")
        shutil.copy(root / "notebooks" / f"{name}.ipynb", tmp_path / "notebooks")
    text = (root / "_config.yml").read_text().replace(colab.PLACEHOLDER, url)
    (tmp_path / "_config.yml").write_text(text)
    return tmp_path


def test_changing_the_one_setting_rewrites_every_cell(root, tmp_path, capsys):
    url = "https://example.org/someone/elastic-fork"
    copy = _copy(root, tmp_path, url)
    assert cli.main(["colab-cell", "--check", "--root", str(copy)]) == 2  # both notebooks still name the old URL
    assert "2 notebook(s) do not install from" in capsys.readouterr().err
    assert len(colab.sync(copy)) == 2
    for name in ("token_tree", "rebound"):
        for suffix in (".py", ".ipynb"):
            first = [c for c in jupytext.read(copy / "notebooks" / f"{name}{suffix}").cells if c.cell_type == "code"][0]
            assert f'"elastic @ git+{url}"' in first.source and colab.PLACEHOLDER not in first.source
    assert colab.sync(copy) == []  # once: nothing left to change
    assert cli.main(["colab-cell", "--check", "--root", str(copy)]) == 0


def test_the_repository_itself_is_in_step_and_flags_the_placeholder(root, capsys):
    assert colab.sync(root, check=True) == []
    assert cli.main(["colab-cell", "--check", "--root", str(root)]) == 0
    assert "the placeholder: set repository.url in _config.yml" in capsys.readouterr().out


def test_missing_url_or_cell_is_one_line(root, tmp_path):
    copy = _copy(root, tmp_path, "https://example.org/x")
    (copy / "_config.yml").write_text("title: x\n")
    with pytest.raises(ElasticError, match="no repository.url"):
        colab.sync(copy)
    (copy / "_config.yml").write_text("repository:\n  url: https://example.org/x\n")
    (copy / "notebooks" / "rebound.py").write_text("# %%\nprint(1)\n")
    with pytest.raises(ElasticError, match="rebound.py has no Colab install cell"):
        colab.sync(copy)
