//! Every chart's canvas at its box's size: the bitmap gets the box's CSS size times the
//! screen's pixel ratio, so that lines are sharp on a tablet or a phone and text reads alike
//! everywhere (`charts::Scale`), and each chart is drawn again when the window is resized or
//! the pixel ratio changes (the window moved to another screen, the browser zoomed).
//! The box's size comes from the style sheet alone (a canvas sized by its own bitmap would
//! grow at each draw).

use leptos::html::Canvas;
use leptos::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::measured_canvas::MeasuredCanvas;
use crate::charts::Scale;

/// Where a chart draws on the page.
pub type ChartArea = DrawingArea<MeasuredCanvas, Shift>;

/// What changes every chart bitmap's size, counted: the window's resizes and the pixel ratio's
/// changes. Every chart canvas tracks them.
#[derive(Clone, Copy)]
pub struct Refits(RwSignal<u32>);

impl Refits {
    /// Counts them while the calling component lives, for the charts below it.
    pub fn provide() {
        let count = RwSignal::new(0u32);
        let listener =
            window_event_listener(leptos::ev::resize, move |_| count.update(|n| *n += 1));
        on_cleanup(move || listener.remove());
        count_pixel_ratio_changes(count);
        provide_context(Self(count));
    }
}

/// Counts the next change of the screen's pixel ratio into `count`, then watches for the one
/// after: a media query for the current ratio (`(resolution: 2dppx)`) reports when it stops
/// matching, and the new ratio needs a query of its own. A change (often no resize with it)
/// after `count` went with its component stops the watch.
fn count_pixel_ratio_changes(count: RwSignal<u32>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let query = format!("(resolution: {}dppx)", window.device_pixel_ratio());
    let Ok(Some(list)) = window.match_media(&query) else {
        return;
    };
    let changed = Closure::once_into_js(move || {
        if count.try_update(|n| *n += 1).is_some() {
            count_pixel_ratio_changes(count);
        }
    });
    // Once: the query of the ratio before would report again on a change back.
    let options = web_sys::AddEventListenerOptions::new();
    options.set_once(true);
    let added = list.add_event_listener_with_callback_and_add_event_listener_options(
        "change",
        changed.unchecked_ref(),
        &options,
    );
    if let Err(error) = added {
        leptos::logging::warn!("watching the pixel ratio: {error:?}");
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
/// and again whenever a signal `data` reads changes or [`Refits`] counts. `data` runs
/// (and so tracks its signals) while the canvas is hidden too, so that it is drawn once shown.
pub fn draw_at_box_size<T: 'static>(
    canvas: NodeRef<Canvas>,
    text: TextSize,
    data: impl Fn() -> T + 'static,
    draw: impl Fn(&ChartArea, Scale, T) + 'static,
) {
    let refits = expect_context::<Refits>();
    // Reactive state meets the outside world: plotters draws on the canvas, not the DOM.
    Effect::new(move |_| {
        refits.0.track();
        let data = data();
        let Some(canvas) = canvas.get() else {
            return;
        };
        if let Some((area, scale)) = fit(&canvas, text) {
            draw(&area, scale, data);
        }
    });
}
