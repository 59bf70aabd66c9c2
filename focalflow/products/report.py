"""A static HTML report of a run: ``report/index.html``.

One page with everything inline (CSS, JavaScript, the table's beachballs as SVG) and its
images copied into ``report/figures/`` (hard links where the file system allows, so no disk
is spent), so the ``report`` folder can be moved, mailed or served on its own; nothing comes
from the internet. It shows the run summary, the catalog figures, a sortable table of the
events and their mechanisms (click a column header, or open the page as
``index.html#sort=mag`` / ``#sort=mag-desc`` with any column name) with a small beachball and
the multiple-solution flag, each event's figure (the beachball beside its P waveforms, every
solution when HASH found several), and the skipped items. After loading, the page's script
writes what it rendered into ``<body data-rows=… data-images-ok=… data-images-broken=…>``
(used by the headless browser test, and handy to check a report from a script).
"""
from __future__ import annotations

import html
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from focalflow.mechanisms.classify import CLASS_COLORS
from focalflow.products.plots.beachball import beachball_svg
from focalflow.products.plots.catalog import CATALOG_FIGURES, quality_summary
from focalflow.products.plots.event import has_multiple_solutions
from focalflow.workdir import WorkDir, atomic_path, safe_name, write_text_atomic

CATALOG_CAPTIONS = {
    "map": "Mechanisms sized by magnitude and coloured by faulting class; triangles: stations.",
    "ternary": "Frohlich (1992) triangle: classes by the plunges of the P, T and B axes.",
    "magnitudes": "Magnitude histogram and cumulative number of events.",
    "orientations": "Strike, dip, rake and P/T axes against origin time.",
    "roses": "Rose diagrams of strikes, rakes and P/T axis trends.",
    "quality": "Quality letters, uncertainties and polarity misfits.",
}

TABLE_COLUMNS = [  # (column, header, format)
    ("event_id", "Event", "text"), ("time", "Origin time (UTC)", "time"),
    ("origin_lat", "Lat (°)", ".4f"), ("origin_lon", "Lon (°)", ".4f"),
    ("origin_depth_km", "Depth (km)", ".2f"), ("mag", "Mag", ".1f"),
    ("strike", "Strike", ".0f"), ("dip", "Dip", ".0f"), ("rake", "Rake", ".0f"),
    ("strike2", "Strike 2", ".0f"), ("dip2", "Dip 2", ".0f"), ("rake2", "Rake 2", ".0f"),
    ("quality", "Quality", "text"), ("solutions", "Solutions", ".0f"),
    ("fault_plane_uncertainty", "Uncert. (°)", ".0f"),
    ("polarity_misfit", "Misfit (%)", ".1f"), ("num_p_pol", "N pol.", ".0f"),
    ("sta_distribution_ratio", "STDR (%)", ".0f"), ("faulting_class", "Class", "text"),
]

STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px 32px; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
.summary td { padding: 2px 14px 2px 0; } .muted { color: #777; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 22px; }
.figures figure { margin: 0; } .figures figure.wide { grid-column: 1 / -1; max-width: 1400px; } .figures img { width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
table.events { border-collapse: collapse; font-size: 0.85em; }
table.events th, table.events td { border: 1px solid #ddd; padding: 3px 6px; text-align: right; }
table.events th { background: #f0f0f0; cursor: pointer; position: sticky; top: 0; user-select: none; }
table.events th.asc::after { content: " \\25B2"; } table.events th.desc::after { content: " \\25BC"; }
table.events td.text { text-align: left; } table.events tr:nth-child(even) { background: #fafafa; }
table.events td.ball { padding: 1px 4px; text-align: center; } svg.ball { vertical-align: middle; }
td.multiple { font-weight: bold; color: #8a4b00; }
.q-A { background: #d9f0d3; } .q-B { background: #e5f5e0; } .q-C { background: #fff7bc; }
.q-D { background: #fee391; } .q-E, .q-F { background: #fdd0a2; }
.event { margin: 1.6em 0; } .event img { width: 100%; max-width: 1500px; border: 1px solid #ddd; }
.event p { margin: 0.3em 0; }
table.plain { border-collapse: collapse; font-size: 0.85em; }
table.plain th, table.plain td { border: 1px solid #ddd; padding: 2px 6px; }
"""

SCRIPT = """
function sortTable(th) {
  const table = th.closest('table'), body = table.tBodies[0];
  const index = Array.from(th.parentNode.children).indexOf(th);
  const ascending = !th.classList.contains('asc');
  th.parentNode.querySelectorAll('th').forEach(h => h.classList.remove('asc', 'desc'));
  th.classList.add(ascending ? 'asc' : 'desc');
  const key = row => {
    const cell = row.children[index], value = cell.dataset.sort ?? cell.textContent.trim();
    const number = parseFloat(value);
    return value !== '' && !isNaN(number) && isFinite(value) ? number : value.toLowerCase();
  };
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    if (x === y) return 0;
    if (x === '') return 1; if (y === '') return -1;
    if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
    return (x < y ? -1 : 1) * (ascending ? 1 : -1);
  });
  rows.forEach(row => body.appendChild(row));
}
document.querySelectorAll('table.events th').forEach(th => th.addEventListener('click', () => sortTable(th)));
// a link like index.html#sort=mag (or #sort=mag-desc) opens the table sorted by that column
const wanted = /^#sort=([\w]+?)(-desc)?$/.exec(location.hash);
const header = wanted && document.querySelector(`table.events th[data-column="${wanted[1]}"]`);
if (header) { sortTable(header); if (wanted[2]) sortTable(header); }
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const ok = images.filter(img => img.complete && img.naturalWidth > 0).length;
  document.body.dataset.rows = document.querySelectorAll('table.events tbody tr').length;
  document.body.dataset.imagesOk = ok;
  document.body.dataset.imagesBroken = images.length - ok;
});
"""


def write_report(wd: WorkDir, catalog: pd.DataFrame, events: pd.DataFrame | None = None,
                 failures: pd.DataFrame | None = None, title: str | None = None,
                 max_event_sections: int = 500,
                 solutions: pd.DataFrame | None = None) -> Path:
    """Write ``report/index.html`` for the working directory ``wd``; returns its path.

    ``catalog`` has one row per event with a mechanism (derived columns included); events of
    ``events`` without a mechanism get a table row with blanks; ``solutions`` (every row of
    mechanisms.csv) lists HASH's other solutions of multiple-solution events. Per-event
    figure sections are written for at most ``max_event_sections`` events. The figures are
    copied into ``report/figures/``.
    """
    path = wd.report_dir / "index.html"
    by_event = _solutions_by_event(solutions)
    rows = _table_rows(catalog, events, by_event)
    images = _ReportImages(wd)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title or 'focalflow report')}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title or 'focalflow focal mechanisms')}</h1>",
        f'<p class="muted">Working directory: {html.escape(str(wd.root.name))}</p>',
        "<h2>Summary</h2>", _summary_html(catalog, events, failures),
    ]
    catalog_figures = [(key, images.add(wd.figures_dir / name))
                       for key, name in CATALOG_FIGURES.items()]
    catalog_figures = [(key, src) for key, src in catalog_figures if src]
    if catalog_figures:
        parts.append('<h2>Catalog figures</h2><div class="figures">')
        for key, src in catalog_figures:
            wide = ' class="wide"' if key == "map" else ""
            parts.append(f'<figure{wide}><a href="{src}"><img src="{src}" alt="{key}"></a>'
                         f"<figcaption>{html.escape(CATALOG_CAPTIONS[key])}</figcaption>"
                         "</figure>")
        parts.append("</div>")
    parts += ['<h2 id="events">Events</h2>',
              f'<p class="muted">{len(rows)} events; click a column header to sort. '
              "Beachballs: lower hemisphere, equal area, compressional quadrants filled.</p>",
              _events_table(rows)]
    sections = [_event_section(row, wd, images, by_event.get(str(row["event_id"])))
                for row in rows if row.get("has_mechanism")][:max_event_sections]
    sections = [s for s in sections if s]
    if sections:
        parts += ["<h2>Event figures</h2>", *sections]
    if failures is not None and len(failures):
        parts += ["<h2>Skipped items</h2>", _failures_html(failures)]
    parts += [f"<script>{SCRIPT}</script>", "</body></html>"]
    write_text_atomic(path, "\n".join(parts) + "\n")
    return path


class _ReportImages:
    """Copies figures into ``report/figures/`` (same relative layout as ``figures/``) and
    returns the page's relative link; unchanged copies are kept."""

    def __init__(self, wd: WorkDir):
        self.source_root = wd.figures_dir
        self.target_root = wd.report_dir / "figures"

    def add(self, source: Path) -> str | None:
        """The link to ``source``'s copy, or None if ``source`` does not exist."""
        if not source.is_file():
            return None
        relative = source.relative_to(self.source_root)
        target = self.target_root / relative
        stat = source.stat()
        if not (target.is_file() and target.stat().st_size == stat.st_size
                and target.stat().st_mtime_ns >= stat.st_mtime_ns):
            _link_or_copy(source, target)
        return html.escape("figures/" + relative.as_posix())


def _link_or_copy(source: Path, target: Path) -> None:
    """Put ``source`` at ``target`` atomically: a hard link (no extra disk), or a copy where
    the file system cannot link (another device, no link support)."""
    with atomic_path(target) as tmp:
        tmp.unlink()
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copy2(source, tmp)


def _solutions_by_event(solutions: pd.DataFrame | None) -> dict[str, list[dict]]:
    if solutions is None or not len(solutions):
        return {}
    solved = solutions[pd.to_numeric(solutions["strike"], errors="coerce").notna()]
    return {str(k): g.to_dict("records")
            for k, g in solved.groupby(solved["event_id"].astype(str), sort=False)}


def _event_section(row: dict, wd: WorkDir, images: _ReportImages,
                   solutions: list[dict] | None) -> str:
    """One event's figure (the waveforms figure includes its beachball; the beachball alone
    where there are no waveforms) and its solutions."""
    folder = wd.event_figures_dir(row["event_id"])
    waveforms = images.add(folder / "waveforms.png")
    beachball = images.add(folder / "beachball.png")
    if not (waveforms or beachball):
        return ""
    event_id = str(row["event_id"])
    parts = [f'<div class="event" id="event-{html.escape(safe_name(event_id))}">'
             f"<h3>Event {html.escape(event_id)}</h3>"]
    if solutions and len(solutions) > 1:
        listed = "; ".join(f"{k + 1}: {float(s['strike']):.0f}/{float(s['dip']):.0f}/"
                           f"{float(s['rake']):.0f} quality {html.escape(str(s.get('quality', '')))}"
                           for k, s in enumerate(solutions))
        parts.append(f"<p><b>Multiple solutions</b> (HASH found {len(solutions)}; the first "
                     f"is drawn): {listed}</p>")
    shown = waveforms or beachball
    parts.append(f'<a href="{shown}"><img loading="lazy" src="{shown}" alt="event figure"></a>')
    if waveforms and beachball:
        parts.append(f'<p><a href="{beachball}">Beachball alone (PNG)</a></p>')
    parts.append("</div>")
    return "".join(parts)


def _table_rows(catalog: pd.DataFrame, events: pd.DataFrame | None,
                solutions: dict[str, list[dict]]) -> list[dict]:
    rows = [{**r, "has_mechanism": True,
             "solutions": len(solutions.get(str(r["event_id"]), [])) or 1}
            for r in catalog.to_dict("records")]
    have = {str(r["event_id"]) for r in rows}
    if events is not None:
        for event in events.to_dict("records"):
            if str(event["event_id"]) not in have:
                rows.append({"event_id": str(event["event_id"]), "time": event.get("time", ""),
                             "origin_lat": event.get("latitude"),
                             "origin_lon": event.get("longitude"),
                             "origin_depth_km": event.get("depth"), "mag": event.get("mag"),
                             "has_mechanism": False})
    return rows


def _cell(value, fmt: str) -> tuple[str, str]:
    """(display text, sort key) of one table cell."""
    if fmt in ("text", "time"):
        text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
        return (text.replace("T", " ").rstrip("Z")[:22] if fmt == "time" else text), text
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.isna(number):
        return "", ""
    return format(float(number), fmt), repr(float(number))


def _events_table(rows: list[dict]) -> str:
    head = "".join(f'<th data-column="{c}">{html.escape(h)}</th>' for c, h, _ in TABLE_COLUMNS) \
        + '<th data-column="beachball">Beachball</th>'
    body = []
    for row in rows:
        cells = []
        for column, _, fmt in TABLE_COLUMNS:
            text, key = _cell(row.get(column), fmt)
            css = "text" if fmt in ("text", "time") else ""
            if column == "quality" and text:
                css += f" q-{html.escape(text)}"
            if column == "solutions" and (has_multiple_solutions(row)
                                          or row.get("solutions", 1) > 1):
                css += " multiple"
                text = f"{text} (multiple)" if text != "1" else "multiple"
            if column == "event_id" and row.get("has_mechanism"):
                text_html = (f'<a href="#event-{html.escape(safe_name(text))}">'
                             f"{html.escape(text)}</a>")
            else:
                text_html = html.escape(text)
            cells.append(f'<td class="{css.strip()}" data-sort="{html.escape(key)}">{text_html}</td>')
        ball = ""
        if row.get("has_mechanism"):
            ball = beachball_svg(float(row["strike"]), float(row["dip"]), float(row["rake"]),
                                 size_px=34,
                                 color=CLASS_COLORS.get(row.get("faulting_class"), "#555555"))
        cells.append(f'<td class="ball" data-sort="">{ball}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="events"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _summary_html(catalog: pd.DataFrame, events: pd.DataFrame | None,
                  failures: pd.DataFrame | None) -> str:
    total = len(events) if events is not None else len(catalog)
    classes = catalog["faulting_class"].value_counts() if len(catalog) else pd.Series(dtype=int)
    items = [("Events", f"{total}"), ("Events with a mechanism", f"{len(catalog)}"),
             ("Faulting classes", ", ".join(f"{k} {int(v)}" for k, v in classes.items()) or "–"),
             ("Skipped items", f"{0 if failures is None else len(failures)}")]
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td><b>{html.escape(v)}</b></td></tr>"
                   for k, v in items)
    summary = quality_summary(catalog) if len(catalog) else pd.DataFrame()
    quality = ""
    if len(summary):
        header = ("<tr><th>Quality</th><th>Events</th><th>%</th><th>Median uncertainty (°)</th>"
                  "<th>Median misfit (%)</th><th>Median N pol.</th><th>Median STDR (%)</th></tr>")
        lines = []
        for r in summary.itertuples(index=False):
            values = [r.quality, f"{r.events}", f"{r.percent:.1f}"] + [
                "–" if not np.isfinite(v) else f"{v:.1f}" for v in
                (r.median_uncertainty_deg, r.median_misfit_percent, r.median_polarities,
                 r.median_sta_distribution_ratio)]
            lines.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in values) + "</tr>")
        quality = f'<table class="plain">{header}{"".join(lines)}</table>'
    return f'<table class="summary">{rows}</table><p></p>{quality}'


def _failures_html(failures: pd.DataFrame, limit: int = 300) -> str:
    head = "<tr><th>Stage</th><th>Event</th><th>Station</th><th>Reason</th></tr>"
    lines = ["<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>"
                              for c in ("stage", "event_id", "station", "reason")) + "</tr>"
             for r in failures.head(limit).to_dict("records")]
    more = (f'<p class="muted">… and {len(failures) - limit} more in logs/failures.csv</p>'
            if len(failures) > limit else "")
    return f'<table class="plain">{head}{"".join(lines)}</table>{more}'
