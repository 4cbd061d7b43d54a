//! The tour's small inline SVG diagrams (`lab::tour::Diagram`): where the norm sits in a
//! block, serial and parallel blocks, the activation curves, RoPE's rotation, and the
//! attention masks. Geometry comes from the engines' own rules where there is one (masks,
//! RoPE, activations); the panel titles and caption from `lab::tour_text`.

use leptos::prelude::*;

use super::lab_state::LabState;
use super::language::Language;
use super::views::css;
use crate::charts::PALETTE;
use crate::lab::model_views::activation_lines;
use crate::lab::names_text;
use crate::lab::tour::{self, mask, rope_pairs, MASKS, MASK_SIZE};
use crate::lab::tour_text::StopText;

/// What a box in a block diagram is.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    /// The residual stream entering the block.
    Input,
    Norm,
    /// Attention or the MLP.
    Branch,
    /// The residual addition: it adds the stream as it last left a stream node.
    Add,
    /// A norm applied to the stream itself (post-norm): the stream continues from it.
    StreamNorm,
}
use Part::{Add, Branch, Input, Norm, StreamNorm};

/// A block as rows of boxes, top to bottom (two boxes in a row run side by side).
type Block = &'static [&'static [(&'static str, Part)]];

const PRE_NORM: Block = &[
    &[("x", Input)],
    &[("Norm", Norm)],
    &[("Attention", Branch)],
    &[("+", Add)],
    &[("Norm", Norm)],
    &[("MLP", Branch)],
    &[("+", Add)],
];
const POST_NORM: Block = &[
    &[("x", Input)],
    &[("Attention", Branch)],
    &[("+", Add)],
    &[("Norm", StreamNorm)],
    &[("MLP", Branch)],
    &[("+", Add)],
    &[("Norm", StreamNorm)],
];
/// A serial block is the pre-norm block: attention's sum feeds the MLP.
const SERIAL: Block = PRE_NORM;
const PARALLEL: Block = &[
    &[("x", Input)],
    &[("Norm", Norm)],
    &[("Attention", Branch), ("MLP", Branch)],
    &[("+", Add)],
];

const COLUMN: f64 = 150.0;
const ROW: f64 = 36.0;
const BOX_H: f64 = 24.0;
const TOP: f64 = 24.0;

/// Palette colour `index` (wrapping), as CSS.
fn colour(index: usize) -> String {
    css(PALETTE[index % PALETTE.len()])
}

/// A stop's diagram with its panel titles and caption.
#[component]
pub fn Diagram(diagram: tour::Diagram, text: &'static StopText) -> impl IntoView {
    let name = format!("{diagram:?}");
    let drawing = match diagram {
        tour::Diagram::NormPlace => blocks(&[PRE_NORM, POST_NORM], text.panels).into_any(),
        tour::Diagram::SerialParallel => blocks(&[SERIAL, PARALLEL], text.panels).into_any(),
        tour::Diagram::Activations => view! { <Activations title=text.panels[0] /> }.into_any(),
        tour::Diagram::Rope => rope(text.panels[0]).into_any(),
        tour::Diagram::Masks => masks(text.panels).into_any(),
    };
    view! {
        <figure class="tour-diagram" data-testid="tour-diagram" data-diagram=name>
            {drawing}
            <figcaption>{text.caption}</figcaption>
        </figure>
    }
}

/// Block diagrams side by side, each under its title: boxes joined by arrows, norms shaded,
/// and each addition's residual input drawn as a line on the left from the stream node it
/// adds.
fn blocks(columns: &[Block], titles: &'static [&'static str]) -> impl IntoView {
    let language = expect_context::<Language>();
    let rows = columns.iter().map(|c| c.len()).max().unwrap_or(0);
    let (width, height) = (COLUMN * columns.len() as f64, TOP + ROW * rows as f64);
    let drawn = columns
        .iter()
        .zip(titles)
        .enumerate()
        .map(|(column, (block, title))| {
            let left = COLUMN * column as f64;
            let centre = left + COLUMN / 2.0 + 8.0;
            // Box centres of a row: one in the middle, two either side of it.
            let xs = move |count: usize| -> Vec<f64> {
                match count {
                    1 => vec![centre],
                    _ => vec![centre - 32.0, centre + 32.0],
                }
            };
            let y = |row: usize| TOP + ROW * row as f64 + BOX_H / 2.0;
            let mut shapes = Vec::new();
            let mut stream = 0;
            for (row, boxes) in block.iter().enumerate() {
                if row > 0 {
                    for &from in &xs(block[row - 1].len()) {
                        for &to in &xs(boxes.len()) {
                            shapes.push(view! { <line class="flow" x1=from y1=y(row - 1) + BOX_H / 2.0 x2=to y2=y(row) - BOX_H / 2.0 /> }.into_any());
                        }
                    }
                }
                for (&(label, part), x) in boxes.iter().zip(xs(boxes.len())) {
                    let w = if boxes.len() > 1 { 60.0 } else { 80.0 };
                    let class = match part {
                        Norm | StreamNorm => "norm",
                        Add => "add",
                        Input | Branch => "part",
                    };
                    if part == Add {
                        // The residual: from the stream node down the left side into the sum.
                        let side = left + 14.0;
                        shapes.push(view! {
                            <polyline class="residual"
                                points=format!("{},{} {side},{} {side},{} {},{}", centre - 40.0, y(stream), y(stream), y(row), x - 12.0, y(row)) />
                        }.into_any());
                        stream = row;
                        shapes.push(view! {
                            <circle class=class cx=x cy=y(row) r="11" />
                            <text x=x y=y(row) + 5.0 text-anchor="middle">"+"</text>
                        }.into_any());
                    } else {
                        if part == StreamNorm {
                            stream = row;
                        }
                        shapes.push(view! {
                            <rect class=class x=x - w / 2.0 y=y(row) - BOX_H / 2.0 width=w height=BOX_H rx="4" />
                            <text x=x y=y(row) + 5.0 text-anchor="middle">
                                {move || names_text::name(language.get(), label)}
                            </text>
                        }.into_any());
                    }
                }
            }
            view! {
                <g>
                    <text class="panel-title" x=centre y="14" text-anchor="middle">{*title}</text>
                    {shapes}
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="diagram" viewBox=format!("0 0 {width} {height}") role="img"
            aria-label=titles.join(" · ")>{drawn}</svg>
    }
}

/// The MLP's pointwise functions as the CPU engine computes them (`lab::model_views`), the
/// controls' own drawn thicker.
#[component]
fn Activations(title: &'static str) -> impl IntoView {
    let state = expect_context::<LabState>();
    let (width, height, y_low, y_high) = (300.0, 150.0, -1.0, 4.0);
    let at = move |(x, y): (f64, f64)| {
        let px = (x + 4.0) / 8.0 * width;
        let py = TOP + (y_high - y) / (y_high - y_low) * (height - TOP);
        format!("{px:.1},{py:.1}")
    };
    let lines = move || {
        state.version.track();
        state.lab.with_value(activation_lines)
    };
    view! {
        <svg class="diagram" viewBox=format!("0 0 {width} {height}") role="img" aria-label=title>
            <text class="panel-title" x=width / 2.0 y="14" text-anchor="middle">{title}</text>
            <polyline class="axis" points=format!("{} {}", at((-4.0, 0.0)), at((4.0, 0.0))) />
            <polyline class="axis" points=format!("{} {}", at((0.0, y_low)), at((0.0, y_high))) />
            {move || {
                lines()
                    .into_iter()
                    .map(|line| {
                        let points: Vec<String> = line.points.iter().map(|&p| at(p)).collect();
                        view! {
                            <polyline class="curve" class:faint=line.faint stroke=colour(line.color)
                                points=points.join(" ")><title>{line.label}</title></polyline>
                        }
                    })
                    .collect_view()
            }}
        </svg>
    }
}

/// The pair (1, 0) after the engine's RoPE at positions 0 to 4: arrows from the origin on the
/// unit circle, each labelled with its position.
fn rope(title: &'static str) -> impl IntoView {
    let (size, radius) = (170.0, 60.0);
    let (cx, cy) = (size / 2.0, TOP + radius + 10.0);
    let arrows = rope_pairs(5)
        .into_iter()
        .enumerate()
        .map(|(position, (x, y))| {
            // SVG's y grows downwards.
            let (tx, ty) = (cx + radius * x, cy - radius * y);
            let (lx, ly) = (cx + (radius + 12.0) * x, cy - (radius + 12.0) * y + 4.0);
            view! {
                <line class="arrow" x1=cx y1=cy x2=tx y2=ty
                    stroke=colour(position) />
                <circle cx=tx cy=ty r="3" fill=colour(position) />
                <text x=lx y=ly text-anchor="middle">{position}</text>
            }
        })
        .collect_view();
    view! {
        <svg class="diagram rope" viewBox=format!("0 0 {size} {}", cy + radius + 20.0) role="img" aria-label=title>
            <text class="panel-title" x=cx y="14" text-anchor="middle">{title}</text>
            <circle class="axis" cx=cx cy=cy r=radius fill="none" />
            {arrows}
        </svg>
    }
}

/// The attention masks as grids: query rows down, key columns across, visible keys filled.
fn masks(titles: &'static [&'static str]) -> impl IntoView {
    let cell = 9.0;
    let side = cell * MASK_SIZE as f64;
    let gap = 36.0;
    let width = (side + gap) * MASKS.len() as f64;
    let grids = MASKS
        .iter()
        .zip(titles)
        .enumerate()
        .map(|(panel, (&pattern, title))| {
            let left = panel as f64 * (side + gap);
            let cells = mask(pattern, MASK_SIZE)
                .into_iter()
                .enumerate()
                .flat_map(|(query, row)| {
                    row.into_iter().enumerate().map(move |(key, seen)| {
                        view! {
                            <rect class=if seen { "seen" } else { "hidden" }
                                x=left + key as f64 * cell y=TOP + query as f64 * cell
                                width=cell - 1.0 height=cell - 1.0 />
                        }
                    })
                })
                .collect_view();
            view! {
                <g data-mask=panel>
                    <text class="panel-title" x=left + side / 2.0 y="14" text-anchor="middle">{*title}</text>
                    {cells}
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="diagram" viewBox=format!("0 0 {width} {}", TOP + side + 4.0) role="img"
            aria-label=titles.join(" · ")>{grids}</svg>
    }
}
