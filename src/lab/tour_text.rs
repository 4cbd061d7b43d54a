//! Every word of the guided tour and of presenter mode, as plain data: one `TourText` per
//! language, so a translation is a second constant of the same shape and touches no logic.
//! The stops' order, experiments and diagrams are in `super::tour`.

/// One stop's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopText {
    pub title: &'static str,
    /// A few short paragraphs explaining the idea.
    pub body: &'static [&'static str],
    /// The diagram's panel titles, in the order the diagram draws its panels (none without a
    /// diagram).
    pub panels: &'static [&'static str],
    /// One sentence under the diagram saying what it shows (its accessible name too).
    pub caption: &'static str,
}

/// The words around the stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TourText {
    pub heading: &'static str,
    pub intro: &'static str,
    /// "Stop {n} of {total}".
    pub counter: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    /// "Set up and run the {experiment} experiment".
    pub run: &'static str,
    pub present: &'static str,
    pub stops: [StopText; 8],
    pub presenter: PresenterText,
}

/// Presenter mode's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresenterText {
    /// The region's accessible name.
    pub label: &'static str,
    pub view: &'static str,
    /// The choices of views, in `ui::presenter::PresenterView::ALL`'s order.
    pub views: [&'static str; 4],
    pub keys: &'static str,
    pub play: &'static str,
    pub pause: &'static str,
    pub step: &'static str,
    pub next_variant: &'static str,
    pub leave: &'static str,
    /// "Variant {label} ({n} of {total}) of {experiment}".
    pub variant: &'static str,
    /// "Now running: {banner}".
    pub running: &'static str,
}

/// Fills `{name}` placeholders of `template` with their values.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_string(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

pub const ENGLISH: TourText = TourText {
    heading: "Guided tour",
    intro: "Eight stops through the lecture, in its order. Each says what the choice is about, \
            draws it where a picture helps, and sets up its experiment with one button.",
    counter: "Stop {n} of {total}",
    previous: "Previous",
    next: "Next",
    run: "Set up and run the {experiment} experiment",
    present: "Present (p)",
    stops: [
        StopText {
            title: "Normalization: where the norm sits",
            body: &[
                "Every block adds its result to a running sum, the residual stream. A norm \
                 rescales a vector to a steady size so that no layer's output drifts too large \
                 or too small.",
                "Pre-norm rescales only what goes into each branch and leaves the sum itself \
                 alone, so a gradient has a clean path from the loss to the first layer. \
                 Post-norm rescales the sum after every block; with no warm-up and a high \
                 learning rate it trains worse or blows up.",
                "The experiment trains four placements side by side at a learning rate high \
                 enough to tell them apart.",
            ],
            panels: &["pre-norm", "post-norm"],
            caption: "One block drawn both ways: the norm (shaded) before each branch, or \
                      after each sum.",
        },
        StopText {
            title: "Activations: the MLP's bend",
            body: &[
                "Between its two matrix products the MLP bends each number with a fixed \
                 function. ReLU cuts negatives to zero; GeLU and SiLU are smooth versions that \
                 let a little through.",
                "A gated MLP multiplies that bent value by a second projection of the same \
                 input, so the layer chooses per feature how much passes. The gated versions \
                 (SwiGLU, GeGLU) usually win by a small margin, and take a narrower hidden \
                 layer so the parameter count stays the same.",
            ],
            panels: &["the pointwise functions, x from -4 to 4"],
            caption: "The curves as the CPU engine computes them.",
        },
        StopText {
            title: "Block layout: serial or parallel",
            body: &[
                "A serial block runs attention first and feeds its result to the MLP. A \
                 parallel block gives both branches the same normalized input and adds both \
                 results at once.",
                "Parallel blocks save time on large accelerators because the two branches' \
                 first matrix products can be merged into one. The arithmetic is the same, so \
                 at this size the curves should almost coincide.",
            ],
            panels: &["serial", "parallel"],
            caption: "Serial: attention, then the MLP. Parallel: both read the same input.",
        },
        StopText {
            title: "Position: RoPE turns vectors",
            body: &[
                "Attention on its own cannot tell which token came first. RoPE rotates each \
                 pair of numbers in a query or key by an angle proportional to the token's \
                 position.",
                "Rotating both by their own positions leaves their dot product depending only \
                 on how far apart they are, so what a head learns at one distance works \
                 everywhere. Learned, sinusoidal, ALiBi and no encoding at all are the other \
                 variants.",
            ],
            panels: &["one pair at positions 0 to 4"],
            caption: "The pair (1, 0) after the engine's rotation at each position.",
        },
        StopText {
            title: "Shape: heads, width and depth",
            body: &[
                "A model's size can be spent on width, on depth, or on more heads. Most models \
                 keep the heads' combined width equal to the model's width, and between about \
                 100 and 200 units of width per layer.",
                "Splitting the same width into many heads makes each head small. The \
                 experiment keeps the width and changes the number of heads; the rules of \
                 thumb under the Shape controls show where a model stands.",
            ],
            panels: &[],
            caption: "",
        },
        StopText {
            title: "Regularization: weight decay",
            body: &[
                "Large models are trained on so much data that they rarely see a text twice, \
                 so over-fitting is not the worry, and dropout has mostly gone.",
                "Weight decay stays, for a different reason: it shrinks the weights a little \
                 each step, and that works together with the learning-rate schedule. Its \
                 effect shows as the learning rate decays at the end of training.",
            ],
            panels: &[],
            caption: "",
        },
        StopText {
            title: "Stability: keeping logits in bounds",
            body: &[
                "At high learning rates attention logits can grow until the softmax picks one \
                 key with certainty and training breaks down.",
                "QK-norm normalizes queries and keys before their dot product, which caps \
                 those logits. The z-loss adds a small penalty that keeps the output softmax's \
                 normalizer near one. Watch the largest attention logit chart.",
            ],
            panels: &[],
            caption: "",
        },
        StopText {
            title: "Attention: which keys a query sees",
            body: &[
                "Full causal attention lets every token look at all earlier ones, so its cost \
                 grows with the square of the context.",
                "A sliding window keeps only the last few keys; a sparse pattern keeps a few \
                 recent ones plus every k-th further back. Stacked layers still reach far: \
                 each layer extends what the next one can see.",
            ],
            panels: &["causal", "window of 4", "3 local + every 4th"],
            caption: "Query rows down, key columns across: a filled cell is a key the query \
                      sees.",
        },
    ],
    presenter: PresenterText {
        label: "Presenter view",
        view: "View",
        views: [
            "loss",
            "largest attention logit",
            "loss and largest attention logit",
            "the experiment's validation loss",
        ],
        keys: "Keys: space play/pause · s step · n next variant · ← → tour stop · Esc leave",
        play: "Play",
        pause: "Pause",
        step: "Step",
        next_variant: "Next variant (n)",
        leave: "Leave (Esc)",
        variant: "Variant {label} ({n} of {total}) of {experiment}",
        running: "Now running: {banner}",
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_every_placeholder() {
        let text = fill("Stop {n} of {total}", &[("n", "2"), ("total", "8")]);
        assert_eq!(text, "Stop 2 of 8");
    }
}
