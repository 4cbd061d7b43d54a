//! The calculator: the presets at their published sizes (`train::published`), their parameters
//! and what their weights and KV cache take at a chosen context, batch and number format.

use leptos::prelude::*;

use super::language::Language;
use crate::lab::i18n;

use crate::model::numbers::{bytes, count};
use crate::model::NumberFormat;
use crate::train::published::{self, Sizes};

#[component]
pub fn CalcPanel() -> impl IntoView {
    let language = expect_context::<Language>();
    let words = move || language.page();
    // "" is every preset with a published size.
    let preset = RwSignal::new(String::new());
    let context = RwSignal::new("4096".to_string());
    let batch = RwSignal::new("1".to_string());
    let format = RwSignal::new("bf16".to_string());
    // The rows, or the reason the inputs are refused (naming the input).
    let table = move || {
        let positive = |name: &str, text: String| match text.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{name}: {text:?} is not a whole number above 0")),
        };
        let sizes = Sizes {
            // Named as the page labels them (`i18n::translate` words the reason).
            context: positive(words().calc_labels[2], context.get())?,
            batch: positive(words().calc_labels[3], batch.get())?,
            format: format.get().parse::<NumberFormat>()?,
        };
        let chosen = preset.get();
        let rows = published::rows((!chosen.is_empty()).then_some(chosen.as_str()))
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(
            rows.into_iter()
                .map(|row| sizes.of(row))
                .collect::<Vec<_>>(),
        )
    };
    // `label`: an index into `PageText::calc_labels`.
    let text_input = move |label: usize, testid: &'static str, value: RwSignal<String>| {
        view! {
            <label class="inline">
                {move || words().calc_labels[label]} " "
                <input type="text" inputmode="numeric" size="7" data-testid=testid
                    prop:value=value on:change=move |ev| value.set(event_target_value(&ev)) />
            </label>
        }
    };
    view! {
        <section class="calc" data-testid="calc" aria-label=move || words().calc_heading>
            <h2>{move || words().calc_heading}</h2>
            <p class="hint">{move || words().calc_hint}</p>
            <div class="buttons">
                <label class="inline">
                    {move || words().calc_labels[0]} " "
                    <select data-testid="calc-preset" on:change=move |ev| preset.set(event_target_value(&ev))>
                        <option value="">{move || words().calc_labels[1]}</option>
                        {published::presets_with_rows()
                            .into_iter()
                            .map(|name| view! { <option value=name translate="no">{name}</option> })
                            .collect_view()}
                    </select>
                </label>
                {text_input(2, "calc-context", context)}
                {text_input(3, "calc-batch", batch)}
                <label class="inline">
                    {move || words().calc_labels[4]} " "
                    <select data-testid="calc-format" prop:value=format
                        on:change=move |ev| format.set(event_target_value(&ev))>
                        {NumberFormat::ALL
                            .iter()
                            .map(|(name, _)| view! { <option value=*name>{*name}</option> })
                            .collect_view()}
                    </select>
                </label>
            </div>
            {move || match table() {
                Err(reason) => {
                    let reason = i18n::translate(language.get(), &reason);
                    view! { <p class="error" role="alert" data-testid="calc-error">{reason}</p> }.into_any()
                }
                Ok(rows) => view! {
                    <table data-testid="calc-table">
                        <thead>
                            <tr>{words().calc_columns.into_iter().map(|c| view! { <th>{c}</th> }).collect_view()}</tr>
                        </thead>
                        <tbody>
                            {rows
                                .into_iter()
                                .map(|sizing| {
                                    view! {
                                        <tr data-model=sizing.name data-params=sizing.parameters.to_string()>
                                            <th translate="no">{sizing.name}</th>
                                            <td>{count(sizing.parameters as f64)}</td>
                                            <td>{bytes(sizing.weight_bytes)}</td>
                                            <td>{bytes(sizing.kv_bytes)}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                .into_any(),
            }}
        </section>
    }
}
