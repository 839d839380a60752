"""What a chapter notebook calls: :func:`run` configures its experiment from the notebook's
parameters, runs it, glues what the page quotes and returns the data for the figures.

The contract of a chapter ``<name>``: ``elastic.experiments.<name>.run(config)`` computes
everything the page shows, the verdicts included, and stores it with
:func:`elastic.results.save`, whose ``summary`` is the text the page glues (``{glue:md}`key```),
keyed by glue name. The notebook then holds calls, figures (:mod:`elastic.plots`) and prose only.

papermill injects ``-p name value`` as a cell headed ``# Parameters`` after the cell tagged
``parameters``, and only *warns* when a name is unknown. :func:`configure` reads that injected
cell back from IPython's input history and stops on any name the experiment does not have.
"""

from __future__ import annotations

import ast

from elastic import config, experiments, results

#: The first line of the cell papermill injects for Python kernels.
PAPERMILL_HEADER = "# Parameters"
#: Summary keys with this ending are glued as plain text, for a chapter page's cross-document
#: ``{glue:text}`notebooks/<name>.ipynb::<key>:s``` references (which cannot paste Markdown).
PLAIN_TEXT = "_page"


def injected_parameters(namespace: dict) -> list[str]:
    """Names assigned by papermill's injected cell, in order; [] when not run by papermill."""
    for source in reversed(namespace.get("In", [])):
        if source.lstrip().startswith(PAPERMILL_HEADER):
            tree = ast.parse(source)
            return [
                target.id
                for node in tree.body
                if isinstance(node, ast.Assign)
                for target in node.targets
                if isinstance(target, ast.Name)
            ]
    return []


def configure(experiment: str, namespace: dict):
    """The config of ``experiment`` from a notebook's globals.

    ``preset`` picks the YAML preset; any other config field set to a value other than None
    (in the parameters cell or by papermill) overrides it. A run with overrides writes and reads
    its results under ``results/<preset>+<hash>/`` for the rest of the kernel, as ``run --set``
    does, so it never replaces a file the book is built from; the printed path is the real one.
    """
    cls = experiments.config_class(experiment)
    fields = config.field_names(cls)
    unknown = [n for n in injected_parameters(namespace) if n not in fields]
    if unknown:
        raise config.ElasticError(
            f"unknown parameter(s) {', '.join(unknown)} for {experiment}; "
            f"valid parameters: {', '.join(fields)}"
        )
    preset = namespace.get("preset", "cpu")
    overrides = {
        name: namespace[name]
        for name in fields
        if name != "preset" and namespace.get(name) is not None
    }
    cfg = experiments.load_config(experiment, preset, **overrides)
    results.use_run_dir(preset, experiments.overrides_of(experiment, cfg))
    target = results.path(experiments.results_name(experiment), preset)
    print(f"{experiment}: preset {preset}; results -> {target}")
    return cfg


def run(experiment: str, namespace: dict) -> dict:
    """Configure ``experiment`` from a notebook's globals (:func:`configure`), run it, glue its
    summary (:func:`glue_summary`) and return its results' ``data``, with this run's timings and
    counters from its provenance under ``"run"`` (not data: a rerun changes them)."""
    cfg = configure(experiment, namespace)
    record = experiments.module(experiment).run(cfg)
    glue_summary({**record["data"]["summary"], **record["provenance"]["run"].get("summary", {})})
    return {**record["data"], "run": record["provenance"]["run"]}


def glue_summary(summary: dict) -> None:
    """Glue every entry of a run's summary: text for the page's ``{glue:md}`` roles; numbers, and
    text under keys ending in :data:`PLAIN_TEXT`, as plain values for ``{glue:text}`` references."""
    from myst_nb import glue

    for key, value in summary.items():
        if isinstance(value, str) and not key.endswith(PLAIN_TEXT):
            glue_text(key, value)
        else:
            glue(key, value, display=False)


def glue_text(name: str, text) -> None:
    """Glue ``text`` for the page's ``{glue:md}`name``` roles (strings, already formatted)."""
    from IPython.display import Markdown
    from myst_nb import glue

    glue(name, Markdown(str(text)), display=False)


def glue_figure(name: str, fig) -> None:
    """Glue ``fig`` for a ``{glue:figure}`` directive and close it so it is not shown twice."""
    import matplotlib.pyplot as plt
    from myst_nb import glue

    glue(name, fig, display=False)
    plt.close(fig)
