"""The forecast's and the report's bar charts, drawn on the server as SVG (pygal).

A chart is shown as an <img> whose source is a data: URI (the CSP allows data: images), so the
page carries no script and no inline style: pygal's own <style> lives inside the image, and its
tooltip <script> and per-bar <desc> are taken out anyway (an image never runs them, and they
only make it heavier). Each chart comes with a text alternative; the table under it is the
accessible version with every figure.
"""

import base64
import math
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pygal
from django.utils.translation import gettext as _
from pygal.style import Style

from billing.money import format_count
from portal.formatting import format_date, format_month
from returns.reports import Forecast, Grain, ReturnsReport

# pygal puts a finder of map plugins (which the portal does not use) on sys.meta_path that has
# no find_spec: tools that walk the import machinery (pytest's, importlib.util.find_spec) fail on
# it. Taken off again here, once.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

# The portal's blue (portal.css) for what is expected, a dark orange for what may also come:
# both at least 3:1 against white (WCAG 1.4.11).
EXPECTED_COLOUR = "#0a4ea8"
POSSIBLE_COLOUR = "#b35c00"
_STRIPPED = {"script", "desc"}


@dataclass(frozen=True)
class Chart:
    src: str  # data:image/svg+xml;base64,...
    alt: str
    svg: str  # the drawing itself, for tests and anyone who wants to save it


def _style() -> Style:
    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#212529",
        foreground_strong="#212529",
        foreground_subtle="#6c757d",
        guide_stroke_color="#adb5bd",
        major_guide_stroke_color="#6c757d",
        opacity="1",
        opacity_hover="1",
        colors=(EXPECTED_COLOUR, POSSIBLE_COLOUR),
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
        label_font_size=13,
        major_label_font_size=13,
        legend_font_size=14,
        title_font_size=16,
        value_font_size=13,
    )


def _config() -> dict[str, object]:
    return {
        "style": _style(),
        "js": [],
        "no_prefix": True,
        "disable_xml_declaration": True,
        "width": 800,
        "height": 400,
        "show_y_guides": True,
        "print_values": False,
        "margin": 16,
    }


def integer_ticks(highest: int) -> list[int]:
    """Whole-number y labels from 0 past `highest`, at most about ten: counts have no halves."""
    if highest <= 0:
        return [0, 1]
    raw = highest / 8
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    top = step * math.ceil(highest / step)
    return list(range(0, top + 1, step))


def _finish(chart: pygal.graph.graph.Graph, alt: str) -> Chart:
    root = chart.render_tree()
    for parent in root.iter():
        for child in list(parent):
            if not isinstance(child.tag, str) or child.tag in _STRIPPED:
                # Comments (pygal's banner, with the date) and what only a script would read.
                parent.remove(child)
    root.attrib.pop("id", None)
    svg = ET.tostring(root, encoding="unicode")
    encoded = base64.b64encode(svg.encode()).decode("ascii")
    return Chart(src=f"data:image/svg+xml;base64,{encoded}", alt=alt, svg=svg)


def forecast_chart(forecast: Forecast) -> Chart:
    """Stacked bars per business day: the low estimate, and on top what may also arrive."""
    chart = pygal.StackedBar(
        **_config(),
        legend_at_bottom=True,
        legend_at_bottom_columns=1,
        show_legend=True,
        truncate_label=-1,  # five days: room for each whole date
        truncate_legend=-1,
        x_label_rotation=20,
    )
    chart.x_labels = [format_date(day.day) for day in forecast.days]
    chart.y_labels = integer_ticks(max((day.high for day in forecast.days), default=0))
    chart.add(_("Expected"), [day.low for day in forecast.days])
    chart.add(
        _("Could also arrive (exceptions, late)"), [day.high - day.low for day in forecast.days]
    )
    figures = {
        "first": format_date(forecast.first_day),
        "last": format_date(forecast.last_day),
        "low": format_count(forecast.low),
        "high": format_count(forecast.high),
    }
    if forecast.low == forecast.high:  # no range to give: "between 6 and 6" reads oddly
        alt = _(
            "Bar chart of the returns expected on each of the next five business days, from "
            "%(first)s to %(last)s: %(low)s in all. The table below gives every figure."
        )
    else:
        alt = _(
            "Bar chart of the returns expected on each of the next five business days, from "
            "%(first)s to %(last)s: between %(low)s and %(high)s in all. The table below gives "
            "every figure."
        )
    return _finish(chart, alt % figures)


def _report_alt(report: ReturnsReport) -> str:
    span = {
        "first": format_date(report.first_day),
        "last": format_date(report.last_day),
        "total": format_count(report.total),
    }
    described = {
        Grain.MONTH: _(
            "Bar chart of the returns received each month from %(first)s to %(last)s: "
            "%(total)s in all."
        ),
        Grain.WEEK: _(
            "Bar chart of the returns received each week from %(first)s to %(last)s: "
            "%(total)s in all."
        ),
        Grain.DAY: _(
            "Bar chart of the returns received each day from %(first)s to %(last)s: "
            "%(total)s in all."
        ),
    }[report.grain] % span
    busiest = report.busiest
    if busiest is not None:
        described += " " + _("The most: %(period)s (%(count)s).") % {
            "period": busiest.label,
            "count": format_count(busiest.delivered),
        }
    return described + " " + _("The table below gives every figure.")


def report_chart(report: ReturnsReport) -> Chart:
    """One bar per period, labelled by month."""
    chart = pygal.Bar(
        **_config(),
        show_legend=False,
        x_label_rotation=-40,
        truncate_label=15,  # the longest month name with its year; hidden labels take no room
        show_minor_x_labels=report.grain == Grain.MONTH,
    )
    # By week or by day, each month's first period is labelled with the month's name; the
    # others keep their own label, hidden (pygal shows only the "major" ones).
    labels, majors, months_seen = [], [], set()
    for period in report.periods:
        month = (period.start.year, period.start.month)
        if month in months_seen:
            labels.append(period.label)
        else:
            months_seen.add(month)
            labels.append(format_month(period.start.replace(day=1)))
            majors.append(labels[-1])
    chart.x_labels = labels
    chart.x_labels_major = majors
    chart.y_labels = integer_ticks(max((p.delivered for p in report.periods), default=0))
    chart.add(_("Returns received"), [period.delivered for period in report.periods])
    return _finish(chart, _report_alt(report))
