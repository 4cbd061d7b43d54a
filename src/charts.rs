//! Charts as plain functions of data, drawn on any plotters backend: PNG files for the command
//! line now, the page's canvases later. None of them knows an engine.

use plotters::coord::Shift;
use plotters::element::{DashedPathElement, Drawable, PointCollection};
use plotters::prelude::*;
use plotters_backend::{BackendCoord, DrawingErrorKind};

use crate::model::numbers;

/// How many labels a y axis asks for (plotters' default).
const Y_LABELS: usize = 10;

/// Sizes in CSS pixels, drawn [`Scale`] times larger: large enough for a projector at the back
/// of a room (ticks at least 12 px).
const TITLE_PX: f64 = 18.0;
const AXIS_PX: f64 = 15.0;
const TICK_PX: f64 = 13.0;
const LEGEND_PX: f64 = 13.0;
/// An attention map's "layer l head h" and the diverged note under it.
const MAP_TEXT_PX: f64 = 13.0;
const TICK_MARK_PX: f64 = 5.0;
const MARGIN_PX: f64 = 10.0;

/// Drawing pixels per CSS pixel: on the page the screen's pixel ratio (times presenter mode's
/// growth), in PNG files 1. Text, gaps and strokes are sized in CSS pixels and drawn this many
/// times larger, so that a chart reads alike on a phone, a tablet and a projector.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale(pub f64);

impl Scale {
    /// A pixel per CSS pixel: PNG files.
    pub const ONE: Self = Self(1.0);

    /// `css` CSS pixels in drawing pixels (at least one).
    pub fn px(self, css: f64) -> u32 {
        (css * self.0).round().max(1.0) as u32
    }

    fn font(self, css: f64) -> FontDesc<'static> {
        ("sans-serif", f64::from(self.px(css))).into_font()
    }
}

/// The Okabe-Ito palette: distinguishable with every common colour-vision deficiency. Yellow,
/// too light on white, comes last.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

/// How many palette colours runs cycle through: all but the yellow, too light for lines on
/// white.
pub const RUN_COLORS: usize = 7;

/// How a line is stroked. Colours alone repeat after a few series; each further round of the
/// same colours gets the next stroke, so a run stays distinguishable without new colours (the
/// palette stays colour-blind safe).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dash {
    #[default]
    Solid,
    Dashed,
    Dotted,
}

impl Dash {
    /// The stroke of series `index` (0-based) when `colors` colours cycle: solid for the first
    /// round, dashed for the second, dotted from the third on.
    pub fn nth(index: usize, colors: usize) -> Self {
        match index / colors.max(1) {
            0 => Self::Solid,
            1 => Self::Dashed,
            _ => Self::Dotted,
        }
    }

    /// (dash length, gap) in drawing pixels; None for a solid line.
    fn pattern(self, scale: Scale) -> Option<(u32, u32)> {
        let (dash, gap) = match self {
            Self::Solid => return None,
            Self::Dashed => (8.0, 5.0),
            Self::Dotted => (2.0, 4.0),
        };
        Some((scale.px(dash), scale.px(gap)))
    }
}

/// One named curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The legend entry; empty leaves the line out of the legend.
    pub label: String,
    /// (x, y) points in x order; non-finite y (a diverged run) is left out of the drawing.
    pub points: Vec<(f64, f64)>,
    /// Index into [`PALETTE`] (wraps around).
    pub color: usize,
    /// Drawn thinner and lighter, e.g. a training curve under its validation curve.
    pub faint: bool,
    pub dash: Dash,
}

/// A shaded range around a curve: (x, low, high) in x order, e.g. the min and max over seeds
/// around their mean. Drawn under the lines, in its line's colour, without a legend entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub points: Vec<(f64, f64, f64)>,
    /// Index into [`PALETTE`] (wraps around).
    pub color: usize,
}

/// Axis titles and scale of a line chart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Axes<'a> {
    pub title: &'a str,
    pub x: &'a str,
    pub y: &'a str,
    /// A log axis's name in the chart's language, `{axis}` standing for the name:
    /// `PageText::log_axis`.
    pub log_axis: &'a str,
    /// Plot log10(y): loss curves span orders of magnitude early on.
    pub log_y: bool,
    /// Plot log10(x): learning rates of a sweep span orders of magnitude.
    pub log_x: bool,
}

/// A point drawn as a triangle at the top edge of a chart, at its x and in its line's colour:
/// a run with no finite value to plot (a diverged learning rate of a sweep).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TopMark {
    pub x: f64,
    /// Index into [`PALETTE`] (wraps around).
    pub color: usize,
}

/// Why a chart could not be drawn.
pub type ChartError = String;

fn chart_error<E: std::fmt::Debug>(error: E) -> ChartError {
    format!("drawing a chart failed: {error:?}")
}

/// Draws `lines` on `area` with a legend of the labelled ones, its text and strokes at
/// `scale`.
pub fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: Scale,
    axes: Axes,
    lines: &[Line],
) -> Result<(), ChartError> {
    draw(area, scale, axes, &[], lines, false, &[], "")
}

/// Draws `bands` as shaded areas, then `lines` over them (see [`draw_lines`]).
pub fn draw_bands<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: Scale,
    axes: Axes,
    bands: &[Band],
    lines: &[Line],
) -> Result<(), ChartError> {
    draw(area, scale, axes, bands, lines, false, &[], "")
}

/// Lines through a dot at each point (a few measured points, such as a sweep's), plus `marks`
/// as triangles along the top edge (stacked where they share an x), in the legend as
/// `mark_label`.
pub fn draw_points<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: Scale,
    axes: Axes,
    lines: &[Line],
    marks: &[TopMark],
    mark_label: &str,
) -> Result<(), ChartError> {
    draw(area, scale, axes, &[], lines, true, marks, mark_label)
}

#[allow(clippy::too_many_arguments)]
fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: Scale,
    axes: Axes,
    bands: &[Band],
    lines: &[Line],
    dots: bool,
    marks: &[TopMark],
    mark_label: &str,
) -> Result<(), ChartError> {
    let scale_y = |y: f64| if axes.log_y { y.log10() } else { y };
    let scale_x = |x: f64| if axes.log_x { x.log10() } else { x };
    let visible = |y: f64| y.is_finite() && (!axes.log_y || y > 0.0);
    // The bands' edges count for the ranges like points of lines.
    let edges = bands
        .iter()
        .flat_map(|band| band.points.iter())
        .flat_map(|&(x, low, high)| [(x, low), (x, high)]);
    let points = || {
        lines
            .iter()
            .flat_map(|line| line.points.iter().copied())
            .chain(edges.clone())
            .filter(|(_, y)| visible(*y))
    };
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points() {
        x_min = x_min.min(scale_x(x));
        x_max = x_max.max(scale_x(x));
        y_min = y_min.min(scale_y(y));
        y_max = y_max.max(scale_y(y));
    }
    for mark in marks {
        x_min = x_min.min(scale_x(mark.x));
        x_max = x_max.max(scale_x(mark.x));
    }
    if y_min > y_max && !marks.is_empty() {
        // Only marks: any y range holds them at its top.
        (y_min, y_max) = (0.0, 1.0);
    }
    if x_min > x_max {
        (x_min, x_max, y_min, y_max) = (0.0, 1.0, 0.0, 1.0);
    }
    // Steps, layers and counts of positions are whole numbers: so are their ticks.
    let all_points = || lines.iter().flat_map(|line| &line.points);
    let whole_x = !axes.log_x
        && (all_points().map(|(x, _)| x))
            .chain(marks.iter().map(|mark| &mark.x))
            .all(|x| x.fract() == 0.0);
    let whole_y = !axes.log_y
        && all_points().any(|(_, y)| y.is_finite())
        && all_points().all(|(_, y)| !y.is_finite() || y.fract() == 0.0);
    // A flat curve still needs a y range to draw in.
    let pad = ((y_max - y_min) * 0.05).max(1e-6);
    let x_max = if x_max > x_min { x_max } else { x_min + 1.0 };
    // Dots and marks at the ends stay whole.
    let x_pad = if dots { (x_max - x_min) * 0.04 } else { 0.0 };
    let (x_min, x_max) = (x_min - x_pad, x_max + x_pad);

    // A log axis is drawn in log10 units and labelled with the values themselves.
    let y_value = |v: f64| if axes.log_y { 10f64.powf(v) } else { v };
    let y_key_points = |labels: usize| {
        use plotters::coord::ranged1d::Ranged;
        use plotters::coord::types::RangedCoordf64;
        RangedCoordf64::from((y_min - pad)..(y_max + pad)).key_points(labels)
    };
    let y_decimals = {
        let ticks = y_key_points(Y_LABELS);
        numbers::tick_decimals(&ticks.into_iter().map(y_value).collect::<Vec<_>>())
    };
    let y_format = |v: &f64| numbers::fixed(y_value(*v), y_decimals);
    let whole_format = |v: &f64| format!("{v:.0}");
    let y_labels = if whole_y {
        whole_number_labels(y_min - pad, y_max + pad)
    } else {
        Y_LABELS
    };
    let y_tick_texts = y_key_points(y_labels).into_iter().map(|v| {
        if whole_y {
            whole_format(&v)
        } else {
            y_format(&v)
        }
    });
    let (tick_font, axis_font) = (scale.font(TICK_PX), scale.font(AXIS_PX));
    // The y axis's labels get the room their widest tick needs beside the axis's name, so
    // neither runs into the other.
    let mut widest_tick = 0;
    for text in y_tick_texts {
        let (width, _) = area
            .estimate_text_size(&text, &tick_font.clone().into())
            .map_err(chart_error)?;
        widest_tick = widest_tick.max(width);
    }
    let (tick_mark, gap) = (scale.px(TICK_MARK_PX), scale.px(4.0));
    let y_label_area = widest_tick + 2 * tick_mark + gap + scale.px(AXIS_PX) + gap;
    let x_label_area = scale.px(TICK_PX) + 2 * tick_mark + gap + scale.px(AXIS_PX) + gap;

    area.fill(&WHITE).map_err(chart_error)?;
    let mut chart = ChartBuilder::on(area)
        .caption(axes.title, scale.font(TITLE_PX))
        .margin(scale.px(MARGIN_PX))
        .x_label_area_size(x_label_area)
        .y_label_area_size(y_label_area)
        .build_cartesian_2d(x_min..x_max, (y_min - pad)..(y_max + pad))
        .map_err(chart_error)?;
    let x_format = |v: &f64| format!("{:.0e}", 10f64.powf(*v));
    let mut mesh = chart.configure_mesh();
    let axis_name = |name: &str, log: bool| match log {
        true => axes.log_axis.replace("{axis}", name),
        false => name.to_string(),
    };
    mesh.x_desc(axis_name(axes.x, axes.log_x))
        .y_desc(axis_name(axes.y, axes.log_y))
        .y_labels(Y_LABELS)
        .y_label_formatter(&y_format)
        .label_style(tick_font)
        .axis_desc_style(axis_font)
        .set_all_tick_mark_size(tick_mark)
        .axis_style(BLACK.stroke_width(scale.px(1.0)))
        .light_line_style(WHITE.mix(0.0));
    if axes.log_x {
        mesh.x_label_formatter(&x_format);
    }
    if whole_x {
        mesh.x_labels(whole_number_labels(x_min, x_max))
            .x_label_formatter(&whole_format);
    }
    if whole_y {
        mesh.y_labels(y_labels).y_label_formatter(&whole_format);
    }
    mesh.draw().map_err(chart_error)?;
    for band in bands {
        // One polygon: along the top edge, then back along the bottom.
        let shown = band
            .points
            .iter()
            .filter(|(_, low, high)| visible(*low) && visible(*high));
        let top = shown
            .clone()
            .map(|&(x, _, high)| (scale_x(x), scale_y(high)));
        let bottom = shown.map(|&(x, low, _)| (scale_x(x), scale_y(low)));
        let outline: Vec<(f64, f64)> = top.chain(bottom.rev()).collect();
        let fill = PALETTE[band.color % PALETTE.len()].mix(0.2).filled();
        chart
            .draw_series(std::iter::once(Polygon::new(outline, fill)))
            .map_err(chart_error)?;
    }
    // Long names are cut to at most 2/5 of the chart's width, so that the legend leaves most of
    // the plot clear and no name runs off its edge.
    let legend_font: TextStyle = scale.font(LEGEND_PX).into();
    let most = area.dim_in_pixel().0 * 2 / 5;
    let mut labels = Vec::with_capacity(lines.len());
    for line in lines {
        labels.push(shortened(area, &line.label, most, &legend_font)?);
    }
    for (line, label) in lines.iter().zip(&labels) {
        let color = PALETTE[line.color % PALETTE.len()];
        let style = if line.faint {
            color.mix(0.45).stroke_width(scale.px(1.0))
        } else {
            color.stroke_width(scale.px(2.0))
        };
        let segment: Vec<(f64, f64)> = line
            .points
            .iter()
            .filter(|(_, y)| visible(*y))
            .map(|&(x, y)| (scale_x(x), scale_y(y)))
            .collect();
        if dots {
            let dot = |&point: &(f64, f64)| Circle::new(point, scale.px(4.0), color.filled());
            chart
                .draw_series(segment.iter().map(dot))
                .map_err(chart_error)?;
        }
        // The two element types differ, so each branch draws and labels its own series.
        let stroke = scale.px(18.0) as i32;
        if let Some((dash, gap)) = line.dash.pattern(scale) {
            let series = chart
                .draw_series(DashedLineSeries::new(segment, dash, gap, style))
                .map_err(chart_error)?;
            if !label.is_empty() {
                series.label(label).legend(move |(x, y)| {
                    DashedPathElement::new([(x, y), (x + stroke, y)], dash, gap, style)
                });
            }
        } else {
            let series = chart
                .draw_series(LineSeries::new(segment, style))
                .map_err(chart_error)?;
            if !label.is_empty() {
                series
                    .label(label)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + stroke, y)], style));
            }
        }
    }
    // Just inside the top edge, stacked downwards where several share an x.
    let top = y_max + pad * 0.5;
    for (i, mark) in marks.iter().enumerate() {
        let below = marks[..i].iter().filter(|m| m.x == mark.x).count() as f64;
        let color = PALETTE[mark.color % PALETTE.len()].filled();
        let (drop, size) = (scale.px(8.0 + 14.0 * below), scale.px(7.0));
        let triangle = EmptyElement::at((scale_x(mark.x), top))
            + TriangleMarker::new((0, drop as i32), size, color);
        let series = chart
            .draw_series(std::iter::once(triangle))
            .map_err(chart_error)?;
        if i == 0 && !mark_label.is_empty() {
            let (legend, size, right) = (BLACK.filled(), scale.px(6.0), scale.px(9.0) as i32);
            series
                .label(mark_label)
                .legend(move |(x, y)| TriangleMarker::new((x + right, y), size, legend));
        }
    }
    let labelled = lines.iter().any(|line| !line.label.is_empty())
        || !(marks.is_empty() || mark_label.is_empty());
    if !labelled {
        // No legend entries: no empty legend box either.
        return area.present().map_err(chart_error);
    }
    // The legend's size as fractions of the area: its widest label, a stroke and the gaps
    // across, a row per entry down.
    let mut widest_label = 0;
    let shown = labels.iter().map(String::as_str);
    for label in shown.chain([mark_label]).filter(|l| !l.is_empty()) {
        let (width, _) = area
            .estimate_text_size(label, &legend_font)
            .map_err(chart_error)?;
        widest_label = widest_label.max(width);
    }
    let entries = lines.iter().filter(|line| !line.label.is_empty()).count() + marks.len().min(1);
    let (width, height) = area.dim_in_pixel();
    let legend_size = (
        f64::from(widest_label + scale.px(26.0 + 3.0 * MARGIN_PX)) / f64::from(width.max(1)),
        f64::from(scale.px(LEGEND_PX * 1.5) * entries as u32 + scale.px(2.0 * MARGIN_PX))
            / f64::from(height.max(1)),
    );
    chart
        .configure_series_labels()
        .label_font(scale.font(LEGEND_PX))
        .legend_area_size(scale.px(26.0))
        .margin(scale.px(MARGIN_PX))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3).stroke_width(scale.px(1.0)))
        // A sweep's curves fall from the upper left and diverge at the upper right.
        .position(if dots {
            SeriesLabelPosition::LowerLeft
        } else {
            legend_corner(lines, axes, legend_size)
        })
        .draw()
        .map_err(chart_error)?;
    area.present().map_err(chart_error)
}

/// The corner whose legend-sized box (`size`: its width and height as fractions of the chart)
/// holds the fewest of the lines' points, for the legend: loss curves fall from the upper left,
/// activation curves rise to the upper right. Ties go to the upper corners, right first.
fn legend_corner(lines: &[Line], axes: Axes, size: (f64, f64)) -> SeriesLabelPosition {
    let scale = |v: f64, log: bool| if log { v.log10() } else { v };
    let points: Vec<(f64, f64)> = (lines.iter().flat_map(|line| &line.points))
        .map(|&(x, y)| (scale(x, axes.log_x), scale(y, axes.log_y)))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let range = |value: fn(&(f64, f64)) -> f64| {
        let values = points.iter().map(value);
        let low = values.clone().fold(f64::INFINITY, f64::min);
        let high = values.fold(f64::NEG_INFINITY, f64::max);
        (low, (high - low).max(f64::MIN_POSITIVE))
    };
    let ((x_low, x_span), (y_low, y_span)) = (range(|p| p.0), range(|p| p.1));
    // Each point as (from the left, from the bottom), 0 to 1.
    let placed: Vec<(f64, f64)> = (points.iter())
        .map(|&(x, y)| ((x - x_low) / x_span, (y - y_low) / y_span))
        .collect();
    let count = |right: bool, top: bool| {
        let across = |f: f64| if right { f > 1.0 - size.0 } else { f < size.0 };
        let down = |f: f64| if top { f > 1.0 - size.1 } else { f < size.1 };
        placed
            .iter()
            .filter(|(x, y)| across(*x) && down(*y))
            .count()
    };
    let corners = [
        (SeriesLabelPosition::UpperRight, count(true, true)),
        (SeriesLabelPosition::UpperLeft, count(false, true)),
        (SeriesLabelPosition::LowerRight, count(true, false)),
        (SeriesLabelPosition::LowerLeft, count(false, false)),
    ];
    // min_by_key keeps the first of equals: the order above.
    let (corner, _) = corners
        .into_iter()
        .min_by_key(|&(_, count)| count)
        .expect("four corners");
    corner
}

/// `label` whole if it is at most `most` pixels wide in `font`, else cut short with "…" to fit.
fn shortened<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    label: &str,
    most: u32,
    font: &TextStyle,
) -> Result<String, ChartError> {
    let width = |text: &str| {
        let (width, _) = area.estimate_text_size(text, font).map_err(chart_error)?;
        Ok::<_, ChartError>(width)
    };
    if width(label)? <= most {
        return Ok(label.to_string());
    }
    let mut kept: Vec<char> = label.chars().collect();
    while kept.pop().is_some() {
        let cut = format!("{}…", kept.iter().collect::<String>().trim_end());
        if width(&cut)? <= most {
            return Ok(cut);
        }
    }
    Ok("…".to_string())
}

/// How many labels an axis of whole numbers (steps, layers) from `min` to `max` asks for: at
/// most one per number, so that no tick falls between two (layer 0.5), and at most 10.
fn whole_number_labels(min: f64, max: f64) -> usize {
    ((max - min).floor() as usize + 1).clamp(2, 10)
}

/// Attention probabilities of one layer and head for one example: `probs[q * t + k]` is how much
/// query position q attends to key position k.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionMap {
    pub layer: usize,
    pub head: usize,
    /// Sequence length: the map is t × t.
    pub t: usize,
    pub probs: Vec<f32>,
    /// `masked[q * t + k]`: the mask hides key k from query q (drawn grey, so that a masked
    /// cell and an unattended one look different); empty when nothing is masked.
    pub masked: Vec<bool>,
}

/// Masked cells: light grey, so that a masked cell and an unattended one look different.
pub const MASKED_COLOR: RGBColor = RGBColor(221, 221, 221);
/// Cells whose probability is NaN or infinite (a diverged run): the palette's vermillion, far
/// from the white-to-blue ramp for every common colour-vision deficiency, and labelled.
pub const NAN_COLOR: RGBColor = PALETTE[1];
/// The words an attention grid draws, in its reader's language: each map's caption (`{}` the
/// layer, then the head) and the note under maps that hold non-finite cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MapText {
    pub caption: &'static str,
    pub nan_note: &'static str,
}

impl MapText {
    /// In English (the command line's PNG files, and the English page).
    pub const ENGLISH: MapText = MapText {
        caption: "layer {} head {}",
        nan_note: "NaN: the run diverged",
    };

    /// The caption of layer `layer`'s head `head`.
    fn caption(&self, layer: usize, head: usize) -> String {
        (self.caption)
            .replacen("{}", &layer.to_string(), 1)
            .replacen("{}", &head.to_string(), 1)
    }
}

/// The colour of one attention cell: masked grey, non-finite vermillion, else white (0) to deep
/// blue (1) along √p, so that attention spread thinly over many keys stays visible next to sharp
/// heads.
pub fn attention_cell_color(p: f32, masked: bool) -> RGBColor {
    if masked {
        return MASKED_COLOR;
    }
    if !p.is_finite() {
        return NAN_COLOR;
    }
    let (low, high) = (WHITE, PALETTE[0]);
    let p = f64::from(p.clamp(0.0, 1.0)).sqrt();
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * p).round() as u8;
    RGBColor(mix(low.0, high.0), mix(low.1, high.1), mix(low.2, high.2))
}

/// Where a map was drawn: the pixel rectangle of its t × t cells, half-open (`left..right`,
/// `top..bottom`), in the drawing area's coordinates. Query q is the q-th row from the top, key
/// k the k-th column from the left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapArea {
    pub layer: usize,
    pub head: usize,
    pub left: i32,
    pub right: i32,
    pub top: i32,
    pub bottom: i32,
}

impl MapArea {
    /// The (query, key) cell of a t × t map under pixel position (x, y), or None outside the
    /// map. The map's pixels are coloured by this too, so the pointer finds what was drawn.
    pub fn cell_at(&self, t: usize, x: f64, y: f64) -> Option<(usize, usize)> {
        let (width, height) = (
            f64::from(self.right - self.left),
            f64::from(self.bottom - self.top),
        );
        let (dx, dy) = (x - f64::from(self.left), y - f64::from(self.top));
        if t == 0 || !(0.0..width).contains(&dx) || !(0.0..height).contains(&dy) {
            return None;
        }
        let index = |offset: f64, extent: f64| ((offset * t as f64 / extent) as usize).min(t - 1);
        Some((index(dy, height), index(dx, width)))
    }
}

/// An RGB image drawn at `at` in one call to the backend (`blit_bitmap`): a map's cells as
/// pixels. As one filled rectangle per cell, a 128 × 128 map was 16,384 canvas calls, 10-20 ms
/// of the page's thread per map.
struct Pixels {
    at: (i32, i32),
    size: (u32, u32),
    rgb: Vec<u8>,
}

impl<'a> PointCollection<'a, (i32, i32)> for &'a Pixels {
    type Point = &'a (i32, i32);
    type IntoIter = std::iter::Once<&'a (i32, i32)>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<DB: DrawingBackend> Drawable<DB> for Pixels {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut points: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        match points.next() {
            Some(at) => backend.blit_bitmap(at, self.size, &self.rgb),
            None => Ok(()),
        }
    }
}

/// Draws a grid of attention maps, one row per layer and one column per head, queries down and
/// keys across, coloured by [`attention_cell_color`], captioned in `text`; maps with non-finite
/// cells get its NaN note underneath, text at `scale`. Returns where each map's cells are, for hover
/// read-outs.
pub fn draw_attention_grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: Scale,
    title: &str,
    text: MapText,
    maps: &[AttentionMap],
) -> Result<Vec<MapArea>, ChartError> {
    area.fill(&WHITE).map_err(chart_error)?;
    // Rows are the layers present, columns the heads present (one map gives one cell).
    let distinct = |f: fn(&AttentionMap) -> usize| {
        let mut ids: Vec<usize> = maps.iter().map(f).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let (layer_ids, head_ids) = (distinct(|m| m.layer), distinct(|m| m.head));
    let (layers, heads) = (layer_ids.len(), head_ids.len());
    if layers == 0 {
        area.present().map_err(chart_error)?;
        return Ok(Vec::new());
    }
    let diverged = maps.iter().any(|m| {
        m.probs
            .iter()
            .enumerate()
            .any(|(i, p)| !p.is_finite() && m.masked.get(i) != Some(&true))
    });
    let (grid, note) = if diverged {
        let height = area.dim_in_pixel().1;
        let (grid, note) = area.split_vertically(height.saturating_sub(scale.px(18.0)));
        (grid, Some(note))
    } else {
        (area.clone(), None)
    };
    if let Some(note) = note {
        note.draw_text(
            text.nan_note,
            &scale.font(MAP_TEXT_PX).color(&NAN_COLOR),
            (scale.px(4.0) as i32, scale.px(2.0) as i32),
        )
        .map_err(chart_error)?;
    }
    let rank = |ids: &[usize], id| ids.binary_search(&id).expect("collected above");
    // No title, no room kept for one (the page's maps are captioned by the page).
    let body = if title.is_empty() {
        grid
    } else {
        grid.titled(title, scale.font(TITLE_PX))
            .map_err(chart_error)?
    };
    let cells = body.split_evenly((layers, heads));
    let mut placed = Vec::new();
    for map in maps {
        let cell = &cells[rank(&layer_ids, map.layer) * heads + rank(&head_ids, map.head)];
        let t = map.t as i32;
        let caption = text.caption(map.layer, map.head);
        let font = scale.font(MAP_TEXT_PX);
        let (caption_width, _) =
            (cell.estimate_text_size(&caption, &font.clone().into())).map_err(chart_error)?;
        let mut builder = ChartBuilder::on(cell);
        builder.margin(scale.px(4.0));
        // A map too narrow for its caption (a thumbnail among many) goes without one.
        if caption_width + 2 * scale.px(4.0) <= cell.dim_in_pixel().0 {
            builder.caption(caption, font);
        }
        let chart = builder
            .build_cartesian_2d(0..t, 0..t)
            .map_err(chart_error)?;
        let (x, y) = chart.plotting_area().get_pixel_range();
        let drawn = MapArea {
            layer: map.layer,
            head: map.head,
            left: x.start,
            right: x.end,
            top: y.start,
            bottom: y.end,
        };
        let colors: Vec<RGBColor> = (map.probs.iter().enumerate())
            .map(|(i, &p)| attention_cell_color(p, map.masked.get(i) == Some(&true)))
            .collect();
        let (width, height) = (x.len(), y.len());
        let mut rgb = Vec::with_capacity(width * height * 3);
        for py in y.clone() {
            for px in x.clone() {
                let color = drawn
                    .cell_at(map.t, f64::from(px) + 0.5, f64::from(py) + 0.5)
                    .map_or(WHITE, |(q, k)| colors[q * map.t + k]);
                rgb.extend_from_slice(&[color.0, color.1, color.2]);
            }
        }
        let pixels = Pixels {
            at: (0, 0),
            size: (width as u32, height as u32),
            rgb,
        };
        chart
            .plotting_area()
            .strip_coord_spec()
            .draw(&pixels)
            .map_err(chart_error)?;
        placed.push(drawn);
    }
    area.present().map_err(chart_error)?;
    Ok(placed)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// plotters draws text natively with a registered font (the command line registers the
    /// same one).
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn register_font() {
        static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the bundled font is a valid TrueType font"));
    }

    /// The ticks plotters places on an axis of whole numbers, given that many labels, are whole
    /// numbers; a short axis (two layers, four layers) gets every number.
    #[test]
    fn whole_number_axes_get_whole_number_ticks() {
        use plotters::coord::ranged1d::{KeyPointHint, Ranged};
        use plotters::coord::types::RangedCoordf64;
        let ticks = |min: f64, max: f64| {
            let axis = RangedCoordf64::from(min..max);
            axis.key_points(whole_number_labels(min, max).max_num_points())
        };
        for start in [0.0, 3.0, 100.0] {
            for span in 1..300 {
                let (min, max) = (start, start + f64::from(span));
                let points = ticks(min, max);
                assert!(points.len() >= 2, "{min}..{max}: {points:?}");
                assert!(
                    points.iter().all(|x| x.fract() == 0.0),
                    "{min}..{max}: {points:?}"
                );
            }
        }
        assert_eq!(ticks(0.0, 1.0), [0.0, 1.0], "two layers");
        assert_eq!(ticks(0.0, 3.0), [0.0, 1.0, 2.0, 3.0], "four layers");
    }

    /// The legend keeps out of the lines' way: upper right over a falling curve, upper left
    /// over a rising one, a lower corner under a curve along the top.
    #[test]
    fn the_legend_takes_the_emptier_upper_corner() {
        let line = |points: Vec<(f64, f64)>| Line {
            label: "a".into(),
            points,
            color: 0,
            faint: false,
            dash: Dash::Solid,
        };
        let axes = Axes {
            title: "",
            x: "",
            y: "",
            log_y: false,
            log_x: false,
            log_axis: "{axis} (log)",
        };
        let falling = line((0..10).map(|i| (f64::from(i), f64::from(10 - i))).collect());
        let rising = line((0..10).map(|i| (f64::from(i), f64::from(i))).collect());
        let corner = |lines: &[Line]| legend_corner(lines, axes, (0.5, 1.0 / 3.0));
        assert_eq!(corner(&[falling]), SeriesLabelPosition::UpperRight);
        assert_eq!(corner(&[rising]), SeriesLabelPosition::UpperLeft);
        assert_eq!(corner(&[]), SeriesLabelPosition::UpperRight, "no points");
        // From 0 at x = 0 straight up to 10, then along the top.
        let top = line(
            [(0.0, 0.0)]
                .into_iter()
                .chain((1..10).map(|i| (f64::from(i), 10.0)))
                .collect(),
        );
        assert_eq!(corner(&[top]), SeriesLabelPosition::LowerRight);
    }

    /// A name too long for the legend is cut to the width with "…"; a short one stays whole.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn long_legend_names_are_cut_to_fit() {
        register_font();
        let mut pixels = vec![0u8; 400 * 100 * 3];
        let area = BitMapBackend::with_buffer(&mut pixels, (400, 100)).into_drawing_area();
        let font: TextStyle = Scale::ONE.font(LEGEND_PX).into();
        let width = |text: &str| area.estimate_text_size(text, &font).unwrap().0;
        let long = "run 12: +QK-norm, sliding window 16, RoPE, SwiGLU, tied embeddings";
        assert!(width(long) > 150);
        let cut = shortened(&area, long, 150, &font).unwrap();
        assert!(cut.ends_with('…') && width(&cut) <= 150, "{cut}");
        assert!(long.starts_with(cut.trim_end_matches('…')), "{cut}");
        assert!(width(&cut) > 130, "{cut}: no more cut than needed");
        assert_eq!(shortened(&area, "run 1", 150, &font).unwrap(), "run 1");
    }

    #[test]
    fn cell_colours_ramp_mask_and_flag_non_finite() {
        assert_eq!(attention_cell_color(0.0, false), WHITE);
        assert_eq!(attention_cell_color(1.0, false), PALETTE[0]);
        assert_eq!(attention_cell_color(0.3, true), MASKED_COLOR);
        for p in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            assert_eq!(attention_cell_color(p, false), NAN_COLOR, "{p}");
        }
        assert_eq!(attention_cell_color(f32::NAN, true), MASKED_COLOR);
        // No probability is drawn in the NaN colour, nor as black (NaN used to be).
        for i in 0..=1000 {
            let color = attention_cell_color(i as f32 / 1000.0, false);
            assert_ne!(color, NAN_COLOR);
            assert_ne!(color, MASKED_COLOR);
            assert_ne!(color, BLACK);
        }
    }

    #[test]
    fn strokes_follow_the_rounds_of_colours() {
        let strokes: Vec<Dash> = (0..16).map(|i| Dash::nth(i, RUN_COLORS)).collect();
        assert!(strokes[..7].iter().all(|d| *d == Dash::Solid));
        assert!(strokes[7..14].iter().all(|d| *d == Dash::Dashed));
        assert!(strokes[14..].iter().all(|d| *d == Dash::Dotted));
        assert_eq!(Dash::Solid.pattern(Scale::ONE), None);
        assert_ne!(
            Dash::Dashed.pattern(Scale::ONE),
            Dash::Dotted.pattern(Scale::ONE)
        );
        assert_eq!(
            Dash::Dashed.pattern(Scale(2.0)),
            Some((16, 10)),
            "twice as long"
        );
    }

    #[test]
    fn cells_under_the_pointer() {
        let area = MapArea {
            layer: 0,
            head: 0,
            left: 10,
            right: 90,
            top: 20,
            bottom: 60,
        };
        // 4 × 4 cells of 20 × 10 pixels.
        assert_eq!(area.cell_at(4, 10.0, 20.0), Some((0, 0)));
        assert_eq!(area.cell_at(4, 29.9, 29.9), Some((0, 0)));
        assert_eq!(area.cell_at(4, 30.0, 30.0), Some((1, 1)));
        assert_eq!(area.cell_at(4, 89.9, 35.0), Some((1, 3)), "keys across");
        assert_eq!(area.cell_at(4, 11.0, 59.9), Some((3, 0)), "queries down");
        assert_eq!(area.cell_at(4, 90.0, 30.0), None);
        assert_eq!(area.cell_at(4, 9.9, 30.0), None);
        assert_eq!(area.cell_at(4, 50.0, 60.0), None);
        assert_eq!(area.cell_at(0, 50.0, 30.0), None);
    }

    /// Each cell is drawn where it belongs and where the pointer finds it: a map whose only NaN
    /// is (query 2, key 1) has the NaN colour in exactly one block of its pixels, the third fifth
    /// from the top and the second from the left, which the pointer reads as (2, 1).
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_cell_is_drawn_where_the_pointer_finds_it() {
        register_font();
        let t = 5;
        let mut probs = vec![0.2; t * t];
        probs[2 * t + 1] = f32::NAN;
        let map = AttentionMap {
            layer: 0,
            head: 0,
            t,
            probs,
            masked: Vec::new(),
        };
        let (w, h) = (200, 170);
        let mut pixels = vec![0u8; w * h * 3];
        let area = {
            let backend = BitMapBackend::with_buffer(&mut pixels, (w as u32, h as u32));
            let area = backend.into_drawing_area();
            draw_attention_grid(&area, Scale::ONE, "", MapText::ENGLISH, &[map]).unwrap()[0]
        };
        // Within the map: the note under it is written in the same colour.
        let nan: Vec<(i32, i32)> = (area.top..area.bottom)
            .flat_map(|y| (area.left..area.right).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let i = (y as usize * w + x as usize) * 3;
                pixels[i..i + 3] == [NAN_COLOR.0, NAN_COLOR.1, NAN_COLOR.2]
            })
            .collect();
        let (xs, ys) = (nan.iter().map(|p| p.0), nan.iter().map(|p| p.1));
        let (left, right) = (xs.clone().min().unwrap(), xs.max().unwrap() + 1);
        let (top, bottom) = (ys.clone().min().unwrap(), ys.max().unwrap() + 1);
        assert_eq!(
            nan.len() as i32,
            (right - left) * (bottom - top),
            "one solid block"
        );
        let (cell_w, cell_h) = (
            f64::from(area.right - area.left) / t as f64,
            f64::from(area.bottom - area.top) / t as f64,
        );
        let near = |a: i32, b: f64| (f64::from(a) - b).abs() <= 1.0;
        assert!(near(left, f64::from(area.left) + cell_w), "{left}");
        assert!(near(right, f64::from(area.left) + 2.0 * cell_w), "{right}");
        assert!(near(top, f64::from(area.top) + 2.0 * cell_h), "{top}");
        assert!(near(bottom, f64::from(area.top) + 3.0 * cell_h), "{bottom}");
        for &(x, y) in &nan {
            let cell = area.cell_at(t, f64::from(x) + 0.5, f64::from(y) + 0.5);
            assert_eq!(cell, Some((2, 1)), "pixel {x},{y}");
        }
    }

    /// A diverged map is labelled: the note's colour appears under the cells, and not at all
    /// for a finite map.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_diverged_map_gets_its_note() {
        register_font();
        let (w, h) = (160u32, 180u32);
        let note_pixels = |probs: Vec<f32>| {
            let map = AttentionMap {
                layer: 0,
                head: 0,
                t: 2,
                probs,
                masked: vec![false, true, false, false],
            };
            let mut pixels = vec![0u8; (w * h * 3) as usize];
            let area = {
                let backend = BitMapBackend::with_buffer(&mut pixels, (w, h));
                let area = backend.into_drawing_area();
                draw_attention_grid(&area, Scale::ONE, "", MapText::ENGLISH, &[map]).unwrap()[0]
            };
            // Anti-aliased text: count pixels nearer the note colour than to white, below the map.
            pixels
                .chunks_exact(3)
                .enumerate()
                .filter(|(i, px)| {
                    *i as u32 / w >= area.bottom as u32
                        && px[0] > 150
                        && px[2] < 120
                        && i32::from(px[0]) - i32::from(px[2]) > 100
                })
                .count()
        };
        assert_eq!(note_pixels(vec![0.5, 0.5, 1.0, 0.0]), 0);
        assert!(note_pixels(vec![f32::NAN, f32::NAN, 1.0, 0.0]) > 20);
    }

    /// Text, gaps and strokes grow with the scale: the same chart on twice the pixels at
    /// scale 2 inks about four times the pixels (at scale 1 its text and lines would stay as
    /// thin and small as before, about twice).
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_chart_at_twice_the_scale_is_the_same_drawing_twice_as_large() {
        register_font();
        let line = Line {
            label: "run 1".into(),
            points: (0..50)
                .map(|i| (f64::from(i), 5.0 / f64::from(i + 1)))
                .collect(),
            color: 0,
            faint: false,
            dash: Dash::Solid,
        };
        let axes = Axes {
            title: "Loss",
            x: "step",
            y: "loss (nats)",
            log_y: false,
            log_x: false,
            log_axis: "{axis} (log)",
        };
        let inked = |(w, h): (u32, u32), scale: Scale| {
            let mut pixels = vec![0u8; (w * h * 3) as usize];
            {
                let area = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
                draw_lines(&area, scale, axes, std::slice::from_ref(&line)).unwrap();
            }
            let ink = pixels
                .chunks_exact(3)
                .filter(|px| px.iter().any(|&c| c < 200));
            ink.count() as f64
        };
        let once = inked((400, 250), Scale::ONE);
        let twice = inked((800, 500), Scale(2.0));
        let unscaled = inked((800, 500), Scale::ONE);
        assert!((3.4..4.6).contains(&(twice / once)), "{twice} / {once}");
        assert!(unscaled / once < 3.0, "{unscaled} / {once}");
    }

    /// A map with room for its caption has it above its cells; a thumbnail too narrow for it
    /// gives the cells that room instead.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_thumbnail_too_narrow_for_its_caption_goes_without() {
        register_font();
        let top = |side: u32| {
            let map = AttentionMap {
                layer: 0,
                head: 0,
                t: 2,
                probs: vec![1.0, 0.0, 0.5, 0.5],
                masked: Vec::new(),
            };
            let mut pixels = vec![0u8; (side * side * 3) as usize];
            let backend = BitMapBackend::with_buffer(&mut pixels, (side, side));
            let area = backend.into_drawing_area();
            draw_attention_grid(&area, Scale::ONE, "", MapText::ENGLISH, &[map]).unwrap()[0].top
        };
        assert!(
            top(200) >= 13,
            "a caption's height above the cells: {}",
            top(200)
        );
        assert!(top(60) <= 5, "only the margin above the cells: {}", top(60));
    }

    /// A band is shaded between its low and high edges in its colour, lightened: a chart with
    /// the band has many pixels of that tint, the same chart without it none.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_band_shades_between_its_edges() {
        register_font();
        let (w, h) = (300u32, 200u32);
        let tinted_pixels = |bands: &[Band]| {
            let line = Line {
                label: String::new(),
                points: vec![(0.0, 2.0), (10.0, 2.0)],
                color: 0,
                faint: false,
                dash: Dash::Solid,
            };
            let mut pixels = vec![0u8; (w * h * 3) as usize];
            {
                let backend = BitMapBackend::with_buffer(&mut pixels, (w, h));
                let axes = Axes {
                    title: "",
                    x: "step",
                    y: "loss",
                    log_y: false,
                    log_x: false,
                    log_axis: "{axis} (log)",
                };
                draw_bands(
                    &backend.into_drawing_area(),
                    Scale::ONE,
                    axes,
                    bands,
                    &[line],
                )
                .unwrap();
            }
            // PALETTE[0] at 20% over white.
            let tint = PALETTE[0].mix(0.2);
            let expected = |c: u8| (255.0 - 0.2 * (255.0 - f64::from(c))).round() as i32;
            let target = [tint.0, tint.1, tint.2].map(expected);
            (pixels.chunks_exact(3))
                .filter(|px| (0..3).all(|i| (i32::from(px[i]) - target[i]).abs() <= 2))
                .count()
        };
        let band = Band {
            points: vec![(0.0, 1.0, 3.0), (10.0, 1.5, 2.5)],
            color: 0,
        };
        assert_eq!(tinted_pixels(&[]), 0);
        assert!(tinted_pixels(&[band]) > 5000);
    }
}
