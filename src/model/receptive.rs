//! How far back attention reaches across depth: the receptive field of each layer's output.

use super::ModelConfig;

/// How many positions the last position of the context sees after each layer, `[n_layers]`:
/// itself and every earlier position that reaches it through the masks of the layers so far
/// (each layer's `pattern_for_layer(..).visible`), at most `context_len`. A sliding window of
/// w adds w - 1 positions per layer, so L such layers see about L·(w - 1) + 1; one full layer
/// sees the whole context.
pub fn receptive_field(model: &ModelConfig) -> Vec<usize> {
    let context = model.context_len;
    let last = context - 1;
    // reach[d]: position last - d reaches the last position so far. Visibility depends only on
    // the distance i - j (every pattern is relative), so the offsets a layer's last query sees
    // are the offsets every query sees, down to position 0.
    let mut reach = vec![false; context];
    reach[0] = true;
    let mut seen = 1;
    (0..model.n_layers)
        .map(|layer| {
            if seen == context {
                // Everything is reached already: no layer can add to it.
                return seen;
            }
            let pattern = model.pattern_for_layer(layer);
            let offsets: Vec<usize> = (0..context)
                .filter(|&e| pattern.visible(last, last - e))
                .collect();
            let mut next = vec![false; context];
            for d in (0..context).filter(|&d| reach[d]) {
                for e in offsets.iter().take_while(|&&e| d + e <= last) {
                    next[d + e] = true;
                }
            }
            reach = next;
            seen = reach.iter().filter(|&&r| r).count();
            seen
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AttentionPattern, LayerPattern};

    /// The brute-force composition: `sees[i][j]` after each layer is whether position j
    /// reaches position i through any chain of visible (query, key) pairs of the layers so far
    /// (the residual stream keeps a position's own), counted for the last position.
    fn composed_masks(model: &ModelConfig) -> Vec<usize> {
        let t = model.context_len;
        let mut sees: Vec<Vec<bool>> = (0..t).map(|i| (0..t).map(|j| i == j).collect()).collect();
        let mut counts = Vec::new();
        for layer in 0..model.n_layers {
            let pattern = model.pattern_for_layer(layer);
            sees = (0..t)
                .map(|i| {
                    (0..t)
                        .map(|j| (0..t).any(|k| pattern.visible(i, k) && sees[k][j]))
                        .collect()
                })
                .collect();
            counts.push(sees[t - 1].iter().filter(|&&s| s).count());
        }
        counts
    }

    fn model(
        n_layers: usize,
        context_len: usize,
        attention: AttentionPattern,
        layer_pattern: Option<LayerPattern>,
    ) -> ModelConfig {
        ModelConfig {
            n_layers,
            context_len,
            attention,
            layer_pattern,
            ..ModelConfig::DEFAULT
        }
    }

    #[test]
    fn the_field_is_the_composition_of_the_masks() {
        let window = |window| AttentionPattern::SlidingWindow { window };
        let sparse = |local, stride| AttentionPattern::Sparse { local, stride };
        let cases = [
            model(4, 16, AttentionPattern::Full, None),
            model(5, 16, window(3), None),
            model(3, 12, window(1), None),
            model(4, 20, sparse(2, 3), None),
            model(4, 16, window(2), Some(LayerPattern::GlobalEvery(2))),
            model(
                3,
                16,
                window(4),
                Some(LayerPattern::PerLayer(vec![
                    window(2),
                    sparse(1, 5),
                    window(3),
                ])),
            ),
        ];
        for case in cases {
            assert_eq!(
                receptive_field(&case),
                composed_masks(&case),
                "{:?} {:?}",
                case.attention,
                case.layer_pattern
            );
        }
    }

    /// Sliding windows of w add w - 1 positions per layer until the context caps them; a full
    /// layer sees everything.
    #[test]
    fn windows_add_up_to_the_context() {
        let window = AttentionPattern::SlidingWindow { window: 4 };
        assert_eq!(
            receptive_field(&model(6, 16, window, None)),
            [4, 7, 10, 13, 16, 16]
        );
        assert_eq!(
            receptive_field(&model(2, 64, AttentionPattern::Full, None)),
            [64, 64]
        );
        // Gemma 2's interleave: local, global, local, global.
        let every = Some(LayerPattern::GlobalEvery(2));
        assert_eq!(
            receptive_field(&model(4, 32, window, every)),
            [4, 32, 32, 32]
        );
    }
}
