//! The lecture's rules of thumb beside the shape controls: each ratio of the controls' model,
//! the lecture's range and whether it is within it, and the published models' values.

use leptos::prelude::*;

use super::lab_state::LabState;
use super::language::Language;
use crate::lab::rules_text;
use crate::lab::views::{self, published_rules, rule_range, rule_value, rule_verdict};

#[component]
pub fn RuleReadouts() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let rules = move || {
        state.version.track();
        state.lab.with_value(views::rule_readouts)
    };
    let published = published_rules();
    let names: Vec<&'static str> = published.first().map_or(Vec::new(), |(_, rules)| {
        rules.iter().map(|r| r.short).collect()
    });
    let lang = move || language.get();
    let rule_text = move |english: &'static str| rules_text::of(lang(), english);
    view! {
        <section class="rules" data-testid="rules" aria-label=move || words().rules_heading>
            <h3>{move || words().rules_heading}</h3>
            {move || match rules() {
                None => view! { <p class="hint">{words().rules_invalid}</p> }.into_any(),
                Some(rules) => view! {
                    <table>
                        <thead><tr>
                            <th>{words().rules_columns[0]}</th>
                            <th>{words().rules_columns[1]}</th>
                            <th>{words().rules_columns[2]}</th>
                            <th></th>
                        </tr></thead>
                        <tbody>
                            {rules
                                .into_iter()
                                .enumerate()
                                .map(|(i, rule)| {
                                    view! {
                                        <tr data-testid=format!("rule-{i}") data-value=rule.value.to_string()>
                                            <th>{rule_text(rule.name)}</th>
                                            <td class="rule-value">{rule_value(&rule)}</td>
                                            <td title=rule_text(rule.lecture)>{rule_range(&rule, lang())}</td>
                                            <td class="rule-verdict">{rule_verdict(&rule, lang())}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                .into_any(),
            }}
            <p class="hint" data-testid="memory-readout">
                {move || {
                    state.version.track();
                    state.lab.with_value(|lab| views::memory_readout(lab, lang()))
                }}
            </p>
            <details>
                <summary>{move || words().rules_summary}</summary>
                <ul class="hint">
                    {move || rules().unwrap_or_default().into_iter().map(|rule| {
                        view! { <li>{rule_text(rule.name)} ": " {rule_text(rule.lecture)}</li> }
                    }).collect_view()}
                </ul>
                <table data-testid="rules-published">
                    <thead>
                        <tr><th>{move || words().calc_columns[0]}</th>{names.into_iter().map(|name| view! { <th>{move || rule_text(name)}</th> }).collect_view()}</tr>
                    </thead>
                    <tbody>
                        {published
                            .into_iter()
                            .map(|(name, rules)| {
                                view! {
                                    <tr>
                                        // A model's name, the same in every language.
                                        <th translate="no">{name}</th>
                                        {rules
                                            .iter()
                                            .map(|rule| {
                                                let verdict = rule.clone();
                                                view! { <td>{rule_value(rule)} " " <small>{move || rule_verdict(&verdict, lang())}</small></td> }
                                            })
                                            .collect_view()}
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </details>
        </section>
    }
}
