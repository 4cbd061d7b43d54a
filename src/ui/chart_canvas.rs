//! Every chart's canvas at its box's size: the bitmap gets the box's CSS size times the
//! screen's pixel ratio, so that lines are sharp on a tablet or a phone and text reads alike
//! everywhere (`charts::Scale`), and each chart is drawn again when the window is resized.
//! The box's size comes from the style sheet alone (a canvas sized by its own bitmap would
//! grow at each draw).

use leptos::html::Canvas;
use leptos::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::measured_canvas::MeasuredCanvas;
use crate::charts::Scale;

/// Where a chart draws on the page.
pub type ChartArea = DrawingArea<MeasuredCanvas, Shift>;

/// The window's resizes, counted: every chart canvas tracks them.
#[derive(Clone, Copy)]
pub struct Resizes(RwSignal<u32>);

impl Resizes {
    /// Counts the window's resizes while the calling component lives, for the charts below it.
    pub fn provide() {
        let count = RwSignal::new(0u32);
        let listener =
            window_event_listener(leptos::ev::resize, move |_| count.update(|n| *n += 1));
        on_cleanup(move || listener.remove());
        provide_context(Self(count));
    }
}

/// How large a chart's text is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextSize {
    /// The page's sizes (`charts`' CSS pixels).
    Page,
    /// Growing with the box, for a room: box width / 400 CSS px times, 1 to 2 (twice from 800
    /// CSS px), presenter mode's.
    GrowsWithBox,
}

impl TextSize {
    fn grow(self, box_width: f64) -> f64 {
        match self {
            Self::Page => 1.0,
            Self::GrowsWithBox => (box_width / 400.0).clamp(1.0, 2.0),
        }
    }
}

/// Sets `canvas`'s bitmap to its box's size times the screen's pixel ratio (a bitmap already
/// that size is kept: setting it clears the drawing) and gives the area to draw on with its
/// scale; None while the canvas has no box (hidden).
fn fit(canvas: &web_sys::HtmlCanvasElement, text: TextSize) -> Option<(ChartArea, Scale)> {
    let ratio = web_sys::window()?.device_pixel_ratio();
    let rect = canvas.get_bounding_client_rect();
    let (width, height) = (
        (rect.width() * ratio).round() as u32,
        (rect.height() * ratio).round() as u32,
    );
    if width == 0 || height == 0 {
        return None;
    }
    if canvas.width() != width {
        canvas.set_width(width);
    }
    if canvas.height() != height {
        canvas.set_height(height);
    }
    let backend = MeasuredCanvas::new(canvas)?;
    Some((
        backend.into_drawing_area(),
        Scale(ratio * text.grow(rect.width())),
    ))
}

/// Draws what `data` gives with `draw` on `canvas` at its box's size once it is in the page,
/// and again whenever a signal `data` reads changes or the window is resized. `data` runs
/// (and so tracks its signals) while the canvas is hidden too, so that it is drawn once shown.
pub fn draw_at_box_size<T: 'static>(
    canvas: NodeRef<Canvas>,
    text: TextSize,
    data: impl Fn() -> T + 'static,
    draw: impl Fn(&ChartArea, Scale, T) + 'static,
) {
    let resizes = expect_context::<Resizes>();
    // Reactive state meets the outside world: plotters draws on the canvas, not the DOM.
    Effect::new(move |_| {
        resizes.0.track();
        let data = data();
        let Some(canvas) = canvas.get() else {
            return;
        };
        if let Some((area, scale)) = fit(&canvas, text) {
            draw(&area, scale, data);
        }
    });
}
