"""`ilat-video evaluate`: a model measured on test pairs with ground truth."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from ..errors import IlatError
from ..options import MAX_TUNING_STEPS, MAX_VIEWS
from .common import SectionedCommand, console, experimental, set_threads, user_errors


def _seed_list(ctx, param, value):
    try:
        seeds = [int(s) for s in value.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers such as 0,1,2, got {value!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise click.BadParameter(f"expected distinct seeds such as 0,1,2, got {value!r}")
    return seeds


def _method_list(ctx, param, value):
    from ..eval.methods import METHODS

    if value is None:
        return None
    methods = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods or len(set(methods)) != len(methods):
        raise click.BadParameter(f"expected distinct methods among {', '.join(METHODS)}, got {value!r}")
    return methods


@click.command("evaluate", cls=SectionedCommand)
@click.option("--model", required=True, type=click.Path(path_type=Path),
              help="Model folder (tokenizer/ + transformer/), a transformer folder or run with --tokenizer, "
                   "or a tokenizer alone for copy and reconstruction.")
@click.option("--tokenizer", type=click.Path(path_type=Path), default=None,
              help="Tokenizer model folder or run, when --model is a transformer folder (or to override its own).")
@click.option("--data", required=True, help="'synthetic' (held-out synthetic people) or a Penn Action layout folder.")
@click.option("--pairs", "count", type=click.IntRange(min=1), default=100, show_default=True,
              help="Test pairs per subset.")
@click.option("--seeds", callback=_seed_list, default="0,1,2", show_default=True,
              help="One test subset per seed (mean ± std over them); also seeds sampling.")
@click.option("--method", "methods", callback=_method_list, default=None,
              help="Comma-separated: ilat, ilat-paste, ilat-unchanged, ilat-expected, vanilla, taming-la, copy, "
                   "reconstruction, reconstruction-unchanged. Default: ilat, ilat-unchanged, ilat-expected, "
                   "reconstruction, reconstruction-unchanged, copy, plus vanilla and taming-la with "
                   "--baseline-model.")
@click.option("--baseline-model", type=click.Path(path_type=Path), default=None,
              help="The ar-mask transformer (a model folder, or a transformer folder/run using --model's "
                   "tokenizer) for vanilla and taming-la.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--top-k", type=click.IntRange(min=1), default=None,
              help="Sample among the k likeliest (default greedy).")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Sampling temperature (implies sampling; default greedy).")
@experimental("--views", type=click.IntRange(1, MAX_VIEWS), default=1, show_default=True,
              help="Average this many test-time views per frame in the ilat methods (as animate --views).")
@experimental("--personalize", type=click.IntRange(0, MAX_TUNING_STEPS), default=0, show_default=True,
              metavar="STEPS",
              help="Decode each pair in the ilat methods with a copy of the decoder tuned this many steps on its "
                   "own reference (as animate --personalize).")
@experimental("--personalize-transformer", type=click.IntRange(0, MAX_TUNING_STEPS), default=0,
              show_default=True, metavar="STEPS",
              help="Likewise with a copy of the transformer, first (as animate --personalize-transformer).")
@experimental("--keep-still", type=click.FloatRange(min=0), default=None, metavar="PIXELS",
              help="In the ilat methods, show the reference's own pixels on body parts whose joints moved at most "
                   "this many pixels (as animate --keep-still; default off).")
@click.option("--device", default=None, help="cpu, cuda, mps ... Default: CUDA, then MPS, then the CPU.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for torch (default: torch's choice; 1 is steadier on a busy machine).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the results as JSON.")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the results table as markdown.")
@click.option("--strip", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG: reference | target pose | each method's result | ground truth.")
@click.option("--strip-pairs", type=click.IntRange(min=1), default=6, show_default=True)
@click.option("--fid", is_flag=True, help="Also compute FID (needs --inception-weights).")
@click.option("--inception-weights", type=click.Path(path_type=Path), default=None,
              help="Local Inception-v3 weights (safetensors) for FID; nothing is downloaded.")
@user_errors
def evaluate_command(model, tokenizer, data, count, seeds, methods, baseline_model, batch_size, top_k, temperature,
                     views, personalize, personalize_transformer, keep_still, device, threads, out, markdown, strip,
                     strip_pairs, fid, inception_weights) -> None:
    """Measure a model on test pairs with ground truth: PSNR, SSIM, MAE (frame, region, outside), s/frame.

    \b
    Examples:
      ilat-video evaluate --model models/demo --data synthetic --out results.json --markdown results.md
      ilat-video evaluate --model models/demo --data synthetic --baseline-model runs/ablation/vanilla-ar \\
          --method ilat,vanilla,taming-la,copy --pairs 50
    """
    import shlex

    from .. import eval as ev
    from ..options import RenderOptions

    options = RenderOptions(frame="square", top_k=top_k, temperature=temperature, views=views, personalize=personalize,
                            personalize_transformer=personalize_transformer, keep_still=keep_still)
    methods = methods or (["ilat", "ilat-unchanged", "ilat-expected", "reconstruction", "reconstruction-unchanged",
                           "copy"]
                          + (["vanilla", "taming-la"] if baseline_model is not None else []))
    _check_arguments(model, tokenizer, data, methods, baseline_model, out, markdown, strip, fid, inception_weights)
    set_threads(threads)
    main_models, baseline_models = _load(model, tokenizer, baseline_model, methods, device)
    features = None
    if inception_weights is not None:
        from ..eval.inception import InceptionFeatures

        features = InceptionFeatures.from_file(inception_weights, device=device)
    size = main_models[0].config.resolution
    with console.status("making test pairs"):
        subsets = ev.pair_subsets(data, size, count=count, seeds=seeds)
    results = _run(methods, subsets, main_models, baseline_models, options, batch_size, device,
                   strip_pairs if strip is not None else 0, features)
    for result in results:
        result.model = None if result.method == "copy" else str(
            baseline_model if result.method in ev.BASELINE_METHODS else model)
    settings = {"methods": methods, "batch_size": batch_size, "greedy": options.greedy,
                "top_k": top_k, "temperature": temperature, "views": views if views > 1 else None,
                "personalize": personalize or None, "personalize_transformer": personalize_transformer or None,
                "keep_still": keep_still, "tokenizer": None if tokenizer is None else str(tokenizer),
                "baseline_model": None if baseline_model is None else str(baseline_model)}
    document = ev.results_document(results, data=data, pairs_per_subset=count, size=size, settings=settings,
                                   machine=ev.machine_info(device),
                                   command="ilat-video " + shlex.join(sys.argv[1:]))
    _print_table(document, f"{data}: {count} test pairs x {len(seeds)} subsets (mean ± std over subsets)")
    if out is not None:
        ev.write_json(out, document)
        click.echo(f"wrote {out}")
    if markdown is not None:
        ev.write_text(markdown, ev.results_markdown(document))
        click.echo(f"wrote {markdown}")
    if strip is not None:
        shown = subsets[seeds[0]][:strip_pairs]
        picture = ev.comparison_strip(shown, {r.method: r.examples for r in results if r.method != "copy"})
        ev.save_strip(strip, picture)
        click.echo(f"wrote {strip}")


def _check_arguments(model, tokenizer, data, methods, baseline_model, out, markdown, strip, fid,
                     inception_weights) -> None:
    """Everything that can be refused before a model is loaded."""
    from ..eval.methods import BASELINE_METHODS
    from ..fileio import check_output_path

    needs_baseline = [m for m in methods if m in BASELINE_METHODS]
    if needs_baseline and baseline_model is None:
        raise IlatError(f"{', '.join(needs_baseline)} need --baseline-model (a transformer trained with --mask ar)")
    if fid and inception_weights is None:
        raise IlatError("--fid needs --inception-weights FILE (local Inception-v3 weights; nothing is downloaded)")
    outputs = [p for p in (out, markdown, strip) if p is not None]
    for path in outputs:
        check_output_path(path, model, baseline_model, tokenizer)
    if len(set(p.resolve() for p in outputs)) != len(outputs):
        raise IlatError("--out, --markdown and --strip must be different files")
    if data != "synthetic" and not Path(data).is_dir():
        raise IlatError(f"--data {data}: expected 'synthetic' or a dataset folder in the Penn Action layout")


def _load(model, tokenizer, baseline_model, methods, device):
    """(--model's tokenizer and transformer, the baseline's or None)."""
    from ..eval.methods import BASELINE_METHODS, MAIN_MODEL_METHODS
    from ..nn.loading import load_models

    main_models = load_models(model, tokenizer=tokenizer, device=device,
                              transformer_required=any(m in MAIN_MODEL_METHODS for m in methods))
    if not any(m in BASELINE_METHODS for m in methods):
        return main_models, None
    # A full model folder brings its own tokenizer; a transformer folder or run uses --model's.
    own = (baseline_model / "tokenizer").is_dir() and tokenizer is None
    shared = tokenizer or (model / "tokenizer" if (model / "tokenizer").is_dir() else model)
    return main_models, load_models(baseline_model, tokenizer=None if own else shared, device=device)


def _run(methods, subsets, main_models, baseline_models, options, batch_size, device, keep, features) -> list:
    """Each method's result, with a progress bar per method."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from .. import eval as ev

    results = []
    columns = (TextColumn("[bold]{task.description:<15}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        for method in methods:
            task = bar.add_task(method, total=sum(len(s) for s in subsets.values()))
            models = baseline_models if method in ev.BASELINE_METHODS else main_models
            results.append(ev.evaluate_model(
                models, subsets, method=method, options=options, batch_size=batch_size, device=device,
                keep_examples=keep, features=features,
                progress=lambda done, total, task=task: bar.update(task, completed=done),
            ))
    return results


def _print_table(document, title: str) -> None:
    from rich.table import Table

    from .. import eval as ev

    header, rows = ev.table_rows(document)
    table = Table(title=title)
    for name in header:
        table.add_column(name, justify="left" if name == "method" else "right")
    for row in rows:
        table.add_row(*row)
    Console(width=None if sys.stdout.isatty() else 200).print(table)
