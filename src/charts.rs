//! Charts as plain functions of data, drawn on any plotters backend: PNG files for the command
//! line now, the page's canvases later. None of them knows an engine.

use plotters::coord::Shift;
use plotters::prelude::*;

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
}

/// Axis titles and scale of a line chart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Axes<'a> {
    pub title: &'a str,
    pub x: &'a str,
    pub y: &'a str,
    /// Plot log10(y): loss curves span orders of magnitude early on.
    pub log_y: bool,
}

/// Why a chart could not be drawn.
pub type ChartError = String;

fn chart_error<E: std::fmt::Debug>(error: E) -> ChartError {
    format!("drawing a chart failed: {error:?}")
}

/// Draws `lines` on `area` with a legend of the labelled ones.
pub fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    axes: Axes,
    lines: &[Line],
) -> Result<(), ChartError> {
    let scale = |y: f64| if axes.log_y { y.log10() } else { y };
    let visible = |y: f64| y.is_finite() && (!axes.log_y || y > 0.0);
    let points = || {
        lines
            .iter()
            .flat_map(|line| line.points.iter())
            .filter(|(_, y)| visible(*y))
    };
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points() {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_min = y_min.min(scale(y));
        y_max = y_max.max(scale(y));
    }
    if x_min > x_max {
        (x_min, x_max, y_min, y_max) = (0.0, 1.0, 0.0, 1.0);
    }
    // A flat curve still needs a y range to draw in.
    let pad = ((y_max - y_min) * 0.05).max(1e-6);
    let x_max = if x_max > x_min { x_max } else { x_min + 1.0 };

    area.fill(&WHITE).map_err(chart_error)?;
    let mut chart = ChartBuilder::on(area)
        .caption(axes.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x_min..x_max, (y_min - pad)..(y_max + pad))
        .map_err(chart_error)?;
    let y_format = |v: &f64| {
        if axes.log_y {
            format!("{:.3}", 10f64.powf(*v))
        } else {
            format!("{v:.3}")
        }
    };
    chart
        .configure_mesh()
        .x_desc(axes.x)
        .y_desc(if axes.log_y {
            format!("{} (log scale)", axes.y)
        } else {
            axes.y.to_string()
        })
        .y_label_formatter(&y_format)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(chart_error)?;
    for line in lines {
        let color = PALETTE[line.color % PALETTE.len()];
        let style = if line.faint {
            color.mix(0.45).stroke_width(1)
        } else {
            color.stroke_width(2)
        };
        let segment: Vec<(f64, f64)> = line
            .points
            .iter()
            .filter(|(_, y)| visible(*y))
            .map(|&(x, y)| (x, scale(y)))
            .collect();
        let series = chart
            .draw_series(LineSeries::new(segment, style))
            .map_err(chart_error)?;
        if !line.label.is_empty() {
            series
                .label(&line.label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], style));
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(chart_error)?;
    area.present().map_err(chart_error)
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

/// Draws a grid of attention maps, one row per layer and one column per head: white is 0, deep
/// blue is 1, queries down, keys across. Colour follows √p, so that attention spread thinly over
/// many keys stays visible next to sharp heads. Masked cells are light grey.
pub fn draw_attention_grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    maps: &[AttentionMap],
) -> Result<(), ChartError> {
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
        return area.present().map_err(chart_error);
    }
    let rank = |ids: &[usize], id| ids.binary_search(&id).expect("collected above");
    let body = area
        .titled(title, ("sans-serif", 22))
        .map_err(chart_error)?;
    let cells = body.split_evenly((layers, heads));
    for map in maps {
        let cell = &cells[rank(&layer_ids, map.layer) * heads + rank(&head_ids, map.head)];
        let t = map.t as i32;
        let mut chart = ChartBuilder::on(cell)
            .caption(
                format!("layer {} head {}", map.layer, map.head),
                ("sans-serif", 14),
            )
            .margin(4)
            .build_cartesian_2d(0..t, 0..t)
            .map_err(chart_error)?;
        let low = RGBColor(255, 255, 255);
        let high = PALETTE[0];
        let blend = |p: f32| {
            let p = f64::from(p.clamp(0.0, 1.0)).sqrt();
            let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * p) as u8;
            RGBColor(mix(low.0, high.0), mix(low.1, high.1), mix(low.2, high.2))
        };
        chart
            .draw_series((0..t).flat_map(|q| {
                (0..t).map(move |k| {
                    let i = (q * t + k) as usize;
                    let color = if map.masked.get(i) == Some(&true) {
                        RGBColor(221, 221, 221)
                    } else {
                        blend(map.probs[i])
                    };
                    // Row q drawn from the top, as matrices are written.
                    Rectangle::new([(k, t - 1 - q), (k + 1, t - q)], color.filled())
                })
            }))
            .map_err(chart_error)?;
    }
    area.present().map_err(chart_error)
}
