//! A run's metrics as files: the CSV the command line writes into its run folder and the page
//! exports, one function for both.

use std::fmt::Write as _;

use super::session::StepRecord;

/// `metrics.csv`: one row per step, the scalars, then per layer its largest attention logit,
/// the RMS of the residual stream and of each branch, and its gradient norm. Empty optional values (a step that
/// did not evaluate) are empty fields.
pub fn csv(history: &[StepRecord]) -> String {
    let layers = history.first().map_or(0, |r| r.norms.len());
    let mut out = String::from(
        "step,loss,z_loss,grad_norm,lr,log_z,param_norm,val_loss,val_accuracy,val_bpc,tokens_per_second",
    );
    for l in 0..layers {
        write!(
            out,
            ",max_logit_{l},residual_rms_{l},attn_rms_{l},mlp_rms_{l},grad_norm_{l}"
        )
        .expect("writing to a String");
    }
    out.push('\n');
    let optional = |v: Option<f32>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in history {
        write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{:.1}",
            r.step,
            r.loss,
            r.z_loss,
            r.grad_norm,
            r.lr,
            r.log_z,
            r.param_norm,
            optional(r.val_loss),
            optional(r.val_accuracy),
            optional(r.val_bpc),
            r.tokens_per_second
        )
        .expect("writing to a String");
        let layers = r.max_attention_logit.iter().zip(&r.norms);
        for ((logit, norms), grad_norm) in layers.zip(&r.layer_grad_norms) {
            write!(
                out,
                ",{logit},{},{},{},{grad_norm}",
                norms.residual, norms.attn, norms.mlp
            )
            .expect("writing to a String");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::session::NormRecord;

    fn record(step: usize, val_loss: Option<f32>) -> StepRecord {
        StepRecord {
            step,
            loss: 2.5,
            z_loss: 0.0,
            grad_norm: 0.75,
            lr: 0.001,
            log_z: 4.5,
            param_norm: 12.0,
            layer_grad_norms: vec![0.5, 0.125],
            val_loss,
            val_accuracy: val_loss.map(|_| 0.5),
            val_bpc: val_loss.map(|_| 1.25),
            max_attention_logit: vec![1.5, 2.5],
            norms: vec![
                NormRecord {
                    residual: 1.0,
                    attn: 0.5,
                    mlp: 0.25,
                };
                2
            ],
            tokens_per_second: 1234.56,
        }
    }

    #[test]
    fn one_row_per_step_under_the_header() {
        let text = csv(&[record(0, Some(3.0)), record(1, None)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "step,loss,z_loss,grad_norm,lr,log_z,param_norm,val_loss,val_accuracy,val_bpc,\
                 tokens_per_second,\
                 max_logit_0,residual_rms_0,attn_rms_0,mlp_rms_0,grad_norm_0,\
                 max_logit_1,residual_rms_1,attn_rms_1,mlp_rms_1,grad_norm_1",
                "0,2.5,0,0.75,0.001,4.5,12,3,0.5,1.25,1234.6,1.5,1,0.5,0.25,0.5,2.5,1,0.5,0.25,0.125",
                "1,2.5,0,0.75,0.001,4.5,12,,,,1234.6,1.5,1,0.5,0.25,0.5,2.5,1,0.5,0.25,0.125",
            ]
        );
        assert_eq!(
            csv(&[]),
            "step,loss,z_loss,grad_norm,lr,log_z,param_norm,val_loss,val_accuracy,val_bpc,\
             tokens_per_second\n"
        );
    }
}
