"""What a run says about itself: a summary of its results, and a self-contained HTML report.

`summarize` gathers a run's final figures (sample quality, the best epoch,
wall time, peak memory, where its files are) into `RUN_DIR/summary.json`;
`format_summary` prints them as the table that ends `kgan train`.
`write_report` writes `RUN_DIR/report.html`, one page with every picture
embedded: the summary, the recipe, sample grids over the epochs, quality
against steps and seconds, losses with D(x) and D(G(z)), the training-health
warnings and the figures that fit the data (the 1-D Figure 1, the 2-D modes).
`kgan report RUN_DIR` (re)writes it at any time, for a run in progress too.
"""

import base64
import csv
import glob
import html
import json
import math
import os

from kgan import config
from kgan import plots
from kgan import runs
from kgan import timing

SUMMARY = "summary.json"
REPORT = "report.html"

_QUALITY = ("fid", "kid", "precision", "recall", "classes_covered", "modes_covered",
            "high_quality_share", "class_kl")


def summarize(run_dir, evaluation=None, wall_seconds=None, peak_rss_mb=None, time_split=None):
    """The run's summary, written to `RUN_DIR/summary.json`, and returned.

    Args:
        run_dir: the run directory.
        evaluation: the final generator's figures (`kgan.quality.evaluate_generator`),
            or None to take the last evaluated epoch of metrics.csv.
        wall_seconds: the run's wall-clock time, if known.
        peak_rss_mb: its peak resident memory, if known.
        time_split: `{phase: seconds}` (`kgan.timing.TimeSplit.seconds`), if known.
    """
    rows = _metrics_rows(run_dir)
    evaluated = [row for row in rows if _finite(row.get("fid"))]
    quality = dict(evaluation or {})
    if not quality and evaluated:
        quality = {key: _number(evaluated[-1][key]) for key in _QUALITY
                   if _finite(evaluated[-1].get(key))}
        quality["num_samples"] = None
    best = runs.best_checkpoint(run_dir)
    warnings = sorted({check for row in rows for check in (row.get("health") or "").split()})
    last = rows[-1] if rows else {}
    samples = sorted(glob.glob(os.path.join(run_dir, "samples", "epoch-*.png")))
    summary = {
        "run_dir": run_dir,
        "steps": int(float(last["step"])) if last else 0,
        "epochs": int(float(last["epoch"])) if last else 0,
        "quality": {k: v for k, v in quality.items() if k in _QUALITY + ("num_samples",)},
        "best_epoch": None if best is None else best.get("epoch"),
        "best_fid": None if best is None else best.get("fid"),
        "wall_seconds": wall_seconds,
        "time_split": time_split,
        "peak_rss_mb": peak_rss_mb if peak_rss_mb is not None else (
            _number(last.get("peak_rss_mb")) if last else None),
        "health": warnings,
        "files": {
            "samples": samples[-1] if samples else None,
            "report": os.path.join(run_dir, REPORT),
            "generator": os.path.join(run_dir, runs.FINAL_GENERATOR),
        },
    }
    runs.atomic_write_text(os.path.join(run_dir, SUMMARY), json.dumps(summary, indent=1))
    return summary


def read_summary(run_dir):
    """The summary that `summarize` wrote, or None."""
    path = os.path.join(run_dir, SUMMARY)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def format_summary(summary):
    """The summary as the lines `kgan train` ends with."""
    quality = summary["quality"]
    lines = [f"Run {summary['run_dir']}: {summary['steps']} steps, {summary['epochs']} epochs"]
    rows = []
    for key, label in (("fid", "FID"), ("kid", "KID"), ("precision", "precision"),
                       ("recall", "recall"), ("class_kl", "class KL")):
        if key in quality:
            rows.append((label, f"{quality[key]:.4g}"))
    if "classes_covered" in quality:
        rows.append(("classes covered", f"{quality['classes_covered']:g}"))
    if "modes_covered" in quality:
        rows.append(("modes covered", f"{quality['modes_covered']:g}"))
    if "high_quality_share" in quality:
        rows.append(("high-quality samples", f"{100 * quality['high_quality_share']:.1f}%"))
    if quality.get("num_samples"):
        rows.append(("measured on", f"{quality['num_samples']} samples"))
    if summary.get("best_epoch") is not None:
        rows.append(("best epoch", f"{summary['best_epoch']} (FID {summary['best_fid']:.4g}, "
                                   "checkpoints/best.keras)"))
    if summary.get("wall_seconds") is not None:
        minutes, seconds = divmod(int(round(summary["wall_seconds"])), 60)
        rows.append(("wall time", f"{minutes} min {seconds:02d} s"))
    if summary.get("time_split"):
        rows.append(("time split", timing.format_split(summary["time_split"])))
    if summary.get("peak_rss_mb") is not None:
        rows.append(("peak memory", f"{summary['peak_rss_mb'] / 1000:.2f} GB"))
    rows.append(("health", ", ".join(summary["health"]) or "no warnings"))
    files = summary["files"]
    rows += [("samples", files["samples"] or "none"), ("report", files["report"]),
             ("generator", f"{files['generator']} (kgan export {summary['run_dir']} OUT_DIR "
                           "serves it without kgan)")]
    width = max(len(label) for label, _ in rows)
    return "\n".join(lines + [f"  {label:<{width}}  {value}" for label, value in rows])


def write_report(run_dir, summary=None):
    """Writes `RUN_DIR/report.html`, every image embedded; returns its path."""
    recipe = runs.read_recipe(run_dir)
    summary = summary or read_summary(run_dir) or summarize(run_dir)
    plots_dir = os.path.join(run_dir, plots.PLOTS)
    sections = [
        ("Summary", f"<pre>{html.escape(format_summary(summary))}</pre>"),
        ("Samples over training", _sample_strip(run_dir)),
        ("Sample quality", _image(os.path.join(plots_dir, "quality.png"),
                                  "FID, KID and coverage against steps and seconds",
                                  missing="No evaluation in this run (eval.every_epochs: 0).")),
        ("Losses and discriminator scores", _image(os.path.join(plots_dir, "losses.png"),
                                                   "losses, D(x) and D(G(z))")),
        ("Training health", _health(run_dir)),
    ]
    for name, title in (("gaussian1d.png", "The paper's Figure 1: p_data, p_g, D and D*"),
                        ("gaussian1d.gif", "Figure 1, epoch by epoch"),
                        ("modes.png", "Samples over the true modes")):
        if os.path.isfile(os.path.join(plots_dir, name)):
            sections.append((title, _image(os.path.join(plots_dir, name), title)))
    sections.append(("Recipe", f"<pre>{html.escape(config.dump(recipe))}</pre>"))
    body = "\n".join(f"<section><h2>{html.escape(title)}</h2>\n{content}</section>"
                     for title, content in sections)
    page = _PAGE.format(title=html.escape(f"kgan run {recipe['name']}"), body=body)
    path = os.path.join(run_dir, REPORT)
    runs.atomic_write_text(path, page)
    return path


def _sample_strip(run_dir, max_frames=8):
    frames = sorted(glob.glob(os.path.join(run_dir, "samples", "epoch-*.png")))
    if not frames:
        return "<p>No samples yet.</p>"
    step = max(1, math.ceil(len(frames) / max_frames))
    chosen = frames[::step]
    if chosen[-1] != frames[-1]:
        chosen.append(frames[-1])
    return "<div class='strip'>" + "".join(
        f"<figure>{_image(path, os.path.basename(path))}"
        f"<figcaption>epoch {int(os.path.basename(path)[6:10])}</figcaption></figure>"
        for path in chosen
    ) + "</div>"


def _health(run_dir):
    found = [(row["epoch"], row["health"]) for row in _metrics_rows(run_dir)
             if row.get("health")]
    if not found:
        return "<p>No warnings: no dead or saturated discriminator, no mode collapse.</p>"
    return "<ul>" + "".join(f"<li>epoch {html.escape(epoch)}: {html.escape(checks)}</li>"
                            for epoch, checks in found) + "</ul>"


def _image(path, alt, missing="Not drawn."):
    if not os.path.isfile(path):
        return f"<p>{html.escape(missing)}</p>"
    kind = "gif" if path.endswith(".gif") else "png"
    with open(path, "rb") as file:
        data = base64.b64encode(file.read()).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/{kind};base64,{data}'>"


def _metrics_rows(run_dir):
    path = os.path.join(run_dir, "metrics.csv")
    if not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _finite(text):
    value = _number(text)
    return value is not None and math.isfinite(value)


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


# The script records whether every image decoded (tests read it back).
_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
        color: #222; }}
h1 {{ font-size: 1.6em; }} h2 {{ font-size: 1.2em; border-bottom: 1px solid #ccc; }}
img {{ max-width: 100%; }} pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
.strip {{ display: flex; flex-wrap: wrap; gap: 0.5em; }}
.strip figure {{ margin: 0; width: 24%; }} .strip img {{ width: 100%; }}
figcaption {{ text-align: center; font-size: 0.9em; }}
</style></head>
<body><h1>{title}</h1>
{body}
<script>
window.addEventListener("load", function () {{
  var images = document.images, loaded = 0;
  for (var i = 0; i < images.length; i++) {{
    if (images[i].complete && images[i].naturalWidth > 0) loaded++;
  }}
  document.body.setAttribute("data-images", images.length);
  document.body.setAttribute("data-images-loaded", loaded);
}});
</script>
</body></html>
"""
