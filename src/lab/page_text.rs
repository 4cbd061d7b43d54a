//! The page's own words (headings, buttons, readouts, notes, chart titles), as plain data: one
//! `PageText` per language, so the components hold no strings of their own. `{name}` marks a
//! value filled in with `tour_text::fill`. The tour's words are in `tour_text`, the controls'
//! in `fields_text`, the experiments' in `experiments_text`.

use super::i18n::Lang;
use crate::charts::MapText;

/// A chart's title and axis labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChartText {
    pub title: &'static str,
    pub x: &'static str,
    pub y: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PageText {
    pub tagline: &'static str,
    /// The language switch's accessible name.
    pub language: &'static str,
    pub detecting: &'static str,
    pub skip_link: &'static str,
    pub note_gpu: &'static str,
    pub note_cpu: &'static str,
    pub no_webgpu: &'static str,
    pub no_adapter: &'static str,
    pub device_lost: &'static str,
    /// The device readouts: "{backend} backend", with ", software" for a software adapter.
    pub backend: &'static str,
    pub software: &'static str,
    pub device_lost_short: &'static str,
    pub no_adapter_short: &'static str,
    pub looking_for_gpu: &'static str,
    pub technical_detail: &'static str,
    pub check_heading: &'static str,
    pub check_intro: &'static str,
    pub check_run: &'static str,
    pub check_pauses: &'static str,
    pub checking: &'static str,
    pub check_skipped: &'static str,
    pub check_failed: &'static str,
    /// The check's table: kernel, error / bound, result, and its two results.
    pub check_columns: [&'static str; 3],
    pub check_pass: &'static str,
    pub check_fail: &'static str,

    pub training: &'static str,
    pub play: &'static str,
    pub pause: &'static str,
    pub step: &'static str,
    pub reset: &'static str,
    pub log_scale: &'static str,
    pub smoothing: &'static str,
    pub none: &'static str,
    /// Parameters, training FLOPs/token, KV cache/token, tokens/s.
    pub readouts: [&'static str; 4],
    pub engine: &'static str,
    pub no_run: &'static str,
    pub cannot_train: &'static str,
    pub go_to_control: &'static str,
    /// The problems' heading while the newest run ({id}) can still train: the settings start
    /// no run, but it goes on (issue 14: "cannot train" while it trained on).
    pub cannot_start: &'static str,
    /// What Play trains (its title): the experiment ({banner}), the newest run ({id} from step
    /// {done}), nothing since the newest run ended ({id}, {status}), nothing since there is no run.
    pub play_titles: [&'static str; 4],
    /// The tokens/s readout's label while run {id} trains (the other readouts are of the
    /// controls' settings).
    pub tokens_of_run: &'static str,

    pub runs: &'static str,
    pub show: &'static str,
    pub hide: &'static str,
    pub remove: &'static str,
    pub json_title: &'static str,
    pub csv_title: &'static str,
    /// A run's status: training ({done}, {steps}), finished ({done}), diverged ({step}),
    /// stopped by an engine error ({step}), stopped ({step}).
    pub status: [&'static str; 5],

    pub loss_chart: ChartText,
    /// A chart axis on a log scale: "{axis} (log scale)".
    pub log_axis: &'static str,
    /// The loss chart when the shown runs' tokenizers differ.
    pub loss_bpc_chart: ChartText,
    pub profile_chart: ChartText,
    pub grad_chart: ChartText,
    pub lr_chart: ChartText,
    pub logit_chart: ChartText,
    /// "download {title} as PNG".
    pub download_png: &'static str,
    pub across_heading: &'static str,
    pub across_hint: &'static str,
    pub norms_chart: ChartText,
    pub layer_grad_chart: ChartText,
    pub log_z_chart: ChartText,
    pub param_norm_chart: ChartText,
    /// The layer picker's label.
    pub layer: &'static str,
    pub compare_heading: &'static str,
    pub compare_hint: &'static str,
    /// "run {name} " (a or b), "run {id}", the layer and head pickers, a map's caption and a
    /// missing map's ({name}, {layer}, {head}).
    pub compare_run: &'static str,
    pub run_n: &'static str,
    pub compare_parts: [&'static str; 2],
    /// The two sides' names in "run {name}".
    pub compare_sides: [&'static str; 2],
    pub compare_caption: &'static str,
    pub compare_no_map: &'static str,
    pub functions_heading: &'static str,
    pub functions_hint: &'static str,
    pub activation_chart: ChartText,
    pub receptive_chart: ChartText,

    pub attention_heading: &'static str,
    pub attention_hint: &'static str,
    pub look_at: &'static str,
    pub look_at_placeholder: &'static str,
    pub look_at_empty: &'static str,
    pub back_in_training: &'static str,
    pub live: &'static str,
    /// "step {step}" of the scrubbed snapshot, or "live".
    pub at_step: &'static str,
    pub at_live: &'static str,
    pub example_norms: &'static str,
    /// "layer {l}" in the norms' readout.
    pub layer_n: &'static str,
    pub tokens: &'static str,
    /// "position {i}".
    pub position: &'static str,
    /// "enlarge layer {layer} head {head}".
    pub enlarge: &'static str,
    pub enlarged_label: &'static str,
    pub point_at_cell: &'static str,
    pub map_png: &'static str,

    pub sample_heading: &'static str,
    /// Filled with {every} and {temperature}.
    pub sample_hint: &'static str,
    pub sample_empty: &'static str,

    pub controls_label: &'static str,
    pub presets_heading: &'static str,
    pub experiments_heading: &'static str,
    pub experiments_hint: &'static str,
    pub watch: &'static str,
    /// "Run {name} ({n} variants)".
    pub run_experiment: &'static str,
    pub stop_experiment: &'static str,
    /// "{name}: validation loss, min–max over seeds", its y "validation loss ({unit})".
    pub experiment_loss: &'static str,
    pub experiment_loss_y: &'static str,
    /// "training loss minus {first}'s", its y.
    pub experiment_difference: &'static str,
    pub experiment_difference_y: &'static str,
    /// The experiment's banner: "experiment {name}: {state}, {size}" (marked runs: "runs
    /// {ids} in lockstep: …"), its state (training {step} of {steps}, stopped at {step},
    /// finished, training but restarting from step 0 on play), its size (variants × seeds,
    /// variants × learning rates, runs × seeds) and a diverged lane ({lane}, {step}).
    pub banner: &'static str,
    pub banner_marked: &'static str,
    pub banner_state: [&'static str; 4],
    pub banner_size: [&'static str; 3],
    pub banner_diverged: &'static str,
    pub verdict_waits: &'static str,
    pub verdict_no_claim: &'static str,
    /// The runs list's lockstep comparison: its button, the button's title, "{n} marked".
    /// The session panel: title, what it does, its buttons and file inputs, the link's
    /// label, and the note on what the link holds (whole; without histories, {limit}; too
    /// long, {size} and {limit}).
    pub session_title: &'static str,
    pub session_intro: &'static str,
    pub share_session: &'static str,
    pub open_session_file: &'static str,
    pub open_run_json: &'static str,
    pub download_session: &'static str,
    pub session_link_label: &'static str,
    pub link_whole: &'static str,
    pub link_without_histories: &'static str,
    pub link_too_long: &'static str,
    pub compare_marked: &'static str,
    pub compare_marked_title: &'static str,
    pub marked_count: &'static str,
    /// "Claim: {claim}. Verdict: {verdict} ({numbers})."
    pub verdict_line: &'static str,
    pub rule: &'static str,
    /// The results table's columns after the first ({unit} in the second).
    pub results_header: [&'static str; 10],

    pub generate_heading: &'static str,
    /// Filled with {tokens}.
    pub generate_hint: &'static str,
    pub prompt: &'static str,
    pub temperature: &'static str,
    pub top_k_title: &'static str,
    pub generate: &'static str,
    pub checkpoints_heading: &'static str,
    /// Around the command `archlab train --resume`.
    pub checkpoints_hint: [&'static str; 2],
    pub save_newest: &'static str,
    pub open_files: &'static str,
    pub open_folder: &'static str,
    pub drop_here: &'static str,
    pub runs_kept: &'static str,
    pub forget_saved: &'static str,
    pub sweep_summary: &'static str,
    /// Filled with {variants}; {command} is where the command shows.
    pub sweep_hint: &'static str,
    pub sweep_lrs: &'static str,
    pub sweep_run: &'static str,
    pub sweep_chart_label: &'static str,
    pub sweep_caption: &'static str,
    pub sweep_table_hint: &'static str,
    pub calc_heading: &'static str,
    pub calc_hint: &'static str,
    /// preset, all, context, batch, format.
    pub calc_labels: [&'static str; 5],
    /// model, parameters, weights, KV cache.
    pub calc_columns: [&'static str; 4],
    pub rules_heading: &'static str,
    pub rules_invalid: &'static str,
    /// The rules table's columns: ratio, here, lecture.
    pub rules_columns: [&'static str; 3],
    pub rules_summary: &'static str,

    pub text_heading: &'static str,
    pub text_hint: &'static str,
    pub train_on_text: &'static str,
    pub open_txt: &'static str,

    /// A run's name: "run {id}: {label}" (the label by `names_text`).
    pub run_name: &'static str,
    /// A run's checkbox: "mark run {id} to compare".
    pub mark_run: &'static str,
    /// The results table's seeds diverged: "{n} of {seeds}".
    pub seeds_diverged: &'static str,
    /// After a Generate: {tokens}, {time}, {rate}, {engine}, {bytes}.
    pub generate_readout: &'static str,
    /// The size controls' limit: {need}, {total}, {owner}, {share}, {largest}, {limit}.
    pub memory_readout: &'static str,
    /// A rule of thumb's range: none, "{low} to {high}"; and whether the value is in it.
    pub rule_range: [&'static str; 2],
    pub rule_verdict: [&'static str; 2],
    pub sweep_chart: ChartText,
    /// The sweep chart's legend for a learning rate that diverged.
    pub sweep_diverged: &'static str,
    /// A cell of the enlarged attention map: {q} {query} → {k} {key}: {value}, the value
    /// masked, or not a number ({p}).
    pub cell_readout: &'static str,
    pub cell_masked: &'static str,
    pub cell_nan: &'static str,
    /// What the attention maps' canvases draw: captions and the NaN note.
    pub attention_map: MapText,
}

pub const ENGLISH: PageText = PageText {
    tagline: "Train a small transformer live while you flip the architecture choices of \
              Stanford CS336 lecture 3: norms, activations, positions, attention, and more.",
    language: "Language",
    detecting: "Looking for WebGPU…",
    skip_link: "Skip to the run controls",
    note_gpu: "Training runs on the WebGPU engine: every step is a chain of WGSL kernels on your \
               GPU, a few steps kept in flight while the page draws. The default model is the \
               LLaMA-style default preset (d_model 64, 4 layers, context 64, batches of 16); the \
               kernel check below compares these kernels with the CPU engine on your GPU.",
    note_cpu: "Training runs on the CPU engine, in WebAssembly on this page's thread, so the \
               default model is small (d_model 32, 2 layers, context 32, batch 8): one step takes \
               a few milliseconds and the page stays responsive. With WebGPU (see the panel \
               below) the page trains on your GPU, faster and at a larger default size.",
    no_webgpu: "This browser does not offer WebGPU, which archlab uses to train on your GPU. Open \
                the page in a recent Chrome or Edge (version 113 or later), Safari 26, or Firefox \
                141 or later on Windows. On Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu \
                and chrome://flags/#enable-vulkan switched on.",
    no_adapter: "This browser knows WebGPU but gave no GPU adapter: the GPU or its driver may be \
                 blocked, or hardware acceleration is off. Check chrome://gpu (or about:support) \
                 and enable hardware acceleration; on Linux, Chrome needs \
                 chrome://flags/#enable-unsafe-webgpu and chrome://flags/#enable-vulkan switched \
                 on. Or try another browser.",
    device_lost: "The GPU device was lost and no new one could be had: training goes on with the \
                  CPU engine. Reloading the page asks for a GPU again.",
    backend: "{backend} backend",
    software: ", software",
    device_lost_short: "the GPU device was lost",
    no_adapter_short: "no WebGPU adapter in this browser",
    looking_for_gpu: "Looking for a GPU…",
    technical_detail: "Technical detail",
    check_heading: "Kernel check",
    check_intro: "The matmul kernel on random inputs, against the same product computed in Rust \
                  on the CPU; then a few training steps of two small models on this GPU (every \
                  kernel family) against the CPU engine. An error within its bound (ratio ≤ 1) \
                  passes.",
    check_run: "Run the kernel check",
    check_pauses: "Training pauses while it runs (a few seconds), and resumes after.",
    checking: "Checking…",
    check_skipped: "Not run: there is no WebGPU device to run it on.",
    check_failed: "The check could not run: ",
    check_columns: ["kernel", "error / bound", "result"],
    check_pass: "pass",
    check_fail: "FAIL",

    training: "Training",
    play: "Play",
    pause: "Pause",
    step: "Step",
    reset: "Reset",
    log_scale: " log-scale loss",
    smoothing: "smoothing ",
    none: "none",
    readouts: [
        "parameters",
        "training FLOPs/token",
        "KV cache/token",
        "tokens/s",
    ],
    engine: "Engine: ",
    no_run: "no run",
    cannot_train: "This configuration cannot train: ",
    go_to_control: "go to the control",
    cannot_start: "These settings cannot start a new run (run {id} goes on with its own, \
                   earlier settings): ",
    play_titles: [
        "Play trains the experiment on: {banner}",
        "Play trains run {id} on from step {done}",
        "Nothing left to train: run {id}: {status}. Reset trains it again from step 0; a \
         changed setting starts a new run.",
        "Nothing to train: there is no run. Reset starts one from the settings.",
    ],
    tokens_of_run: "tokens/s, run {id}",

    runs: "Runs",
    show: "Show",
    hide: "Hide",
    remove: "Remove",
    json_title: "the configuration and every step's metrics",
    csv_title: "metrics.csv, as the command line writes it",
    status: [
        "step {done} of {steps}",
        "finished, {done} steps",
        "diverged at step {step}",
        "stopped by an engine error before step {step}",
        "stopped at step {step}",
    ],

    loss_chart: ChartText {
        title: "Loss (faint: train, solid: validation)",
        x: "step",
        y: "nats per token",
    },
    log_axis: "{axis} (log scale)",
    loss_bpc_chart: ChartText {
        title: "Validation loss in bits per character (the runs' tokenizers differ)",
        x: "step",
        y: "bits per character",
    },
    profile_chart: ChartText {
        title: "RMS across layers, latest step (newest run)",
        x: "layer",
        y: "RMS",
    },
    grad_chart: ChartText {
        title: "Gradient norm (before clipping)",
        x: "step",
        y: "norm",
    },
    lr_chart: ChartText {
        title: "Learning rate",
        x: "step",
        y: "lr",
    },
    logit_chart: ChartText {
        title: "Largest attention logit (QK-norm bounds it)",
        x: "step",
        y: "max q·k/√d",
    },
    download_png: "download {title} as PNG",
    across_heading: "Across runs",
    across_hint: "Every shown run in its colour: the norm position shapes the residual stream \
                  and the gradient path through the layers; z-loss pulls log Z towards 0 (it is \
                  recorded without z-loss too); weight decay and the schedule move the \
                  parameter norm.",
    norms_chart: ChartText {
        title: "Residual-stream RMS at a layer",
        x: "step",
        y: "RMS",
    },
    layer_grad_chart: ChartText {
        title: "Gradient norm of a layer",
        x: "step",
        y: "L2 norm",
    },
    log_z_chart: ChartText {
        title: "log Z (softmax normaliser, batch mean)",
        x: "step",
        y: "nats",
    },
    param_norm_chart: ChartText {
        title: "Parameter norm (after each update)",
        x: "step",
        y: "L2 norm",
    },
    layer: "layer ",
    compare_heading: "Attention maps of two runs side by side",
    compare_hint: "Each run's latest example (the newest run's follows the slider above), at the \
                   layer and head picked here or by clicking a map.",
    compare_run: "run {name} ",
    run_n: "run {id}",
    compare_parts: ["layer ", "head "],
    compare_sides: ["a", "b"],
    compare_caption: "{name}: layer {layer}, head {head}",
    compare_no_map: "{name}: no map at layer {layer}, head {head} yet",
    functions_heading: "The model's functions",
    functions_hint: "The MLP's activation functions as the CPU engine computes them (gated units \
                     multiply the curve by a second projection y), this model's in bold; and how \
                     many positions the last position sees after each layer (sliding windows \
                     add about their width per layer, up to the context).",
    activation_chart: ChartText {
        title: "Activation functions",
        x: "x",
        y: "act(x)",
    },
    receptive_chart: ChartText {
        title: "Receptive field (dashed: the context)",
        x: "layer",
        y: "positions",
    },

    attention_heading: "Attention maps",
    attention_hint: "Newest run, validation example 0 or your own, redrawn every second: queries \
                     down, keys across; blue is attention, grey is masked, orange is NaN (the run \
                     diverged). Click a map to enlarge it; point at a cell of the enlarged map, \
                     or focus it and use the arrow keys, to read it.",
    look_at: "Look at ",
    look_at_placeholder: "a text, or token ids such as 3 14 15",
    look_at_empty: " (empty: the validation example)",
    back_in_training: "Back in training ",
    live: "Live",
    at_step: "step {step}",
    at_live: "live",
    example_norms: "RMS in this example's forward (residual stream / attention out / MLP out): ",
    layer_n: "layer {l}",
    tokens: "Tokens (queries top to bottom, keys left to right): ",
    position: "position {i}",
    enlarge: "enlarge layer {layer} head {head}",
    enlarged_label: "enlarged attention map: arrow keys move between cells",
    point_at_cell: "Point at a cell to read it.",
    map_png: "PNG of this map",

    sample_heading: "Sample",
    sample_hint: "What the newest run writes by itself while it trains: a new sample every \
                  {every} steps, from a few characters of the data, at temperature \
                  {temperature}.",
    sample_empty: "(text data only: the first sample appears after a few steps)",

    controls_label: "Architecture controls",
    presets_heading: "Real architectures",
    experiments_heading: "Lecture experiments",
    experiments_hint: "Each trains its variants together, one step each in turn, over two seeds, \
                       with the claim, its own charts and a results table above the runs. The \
                       page's size settings and a run length set in the controls (Optimization: \
                       steps) apply to every variant unless the experiment sets them itself.",
    watch: "Watch: ",
    run_experiment: "Run {name} ({n} variants)",
    stop_experiment: "Stop the experiment",
    experiment_loss: "{name}: validation loss, min–max over seeds",
    experiment_loss_y: "validation loss ({unit})",
    experiment_difference: "training loss minus {first}'s",
    experiment_difference_y: "difference (nats)",
    banner: "experiment {name}: {state}, {size}",
    banner_marked: "runs {ids} in lockstep: {state}, {size}",
    banner_state: [
        "step {step} of {steps}",
        "stopped at step {step}",
        "finished",
        "step {step} of {steps} (play restarts it from step 0)",
    ],
    banner_size: [
        "{variants} variants × {seeds} seeds",
        "{variants} variants × {lrs} learning rates",
        "{variants} runs × {seeds} seeds",
    ],
    banner_diverged: "{lane} diverged at step {step}",
    verdict_waits: "The verdict comes when every lane has ended.",
    verdict_no_claim: "Marked runs make no claim: the numbers are the comparison.",
    session_title: "Share this session",
    session_intro: "A link (or, when it would be too long, a file) that opens the runs being \
                    compared and the experiment in another browser. Parameters do not travel: \
                    the newest run and an unfinished experiment train again from step 0 there.",
    share_session: "Share session",
    open_session_file: "Open session file ",
    open_run_json: "Open run JSON ",
    download_session: "Download the session file",
    session_link_label: "link to this session",
    link_whole: "The link holds the runs and the experiment with their histories.",
    link_without_histories: "With their histories the link would pass {limit}: it holds the \
                             runs' and the experiment's configurations only (the runs come \
                             back without curves, the experiment starts again). The session \
                             file holds everything.",
    link_too_long: "Even without histories the link would take {size}, over the {limit} a \
                    link can hold: share the session file instead.",
    compare_marked: "Compare in lockstep",
    compare_marked_title: "train the marked runs again together: the same batches, equal initial values",
    marked_count: "{n} marked",
    verdict_line: "Claim: {claim}. Verdict: {verdict} ({numbers}).",
    rule: "Rule: ",
    results_header: [
        "variant",
        "validation loss, {unit} (mean)",
        "min–max over seeds",
        "parameters",
        "FLOPs/token",
        "KV cache/token",
        "tokens/s",
        "largest attention logit",
        "log Z",
        "seeds diverged",
    ],

    generate_heading: "Generate",
    generate_hint: "Your prompt continued by the newest run, {tokens} tokens, one at a time: each \
                    new token reads the keys and values kept of the tokens before it (the KV \
                    cache), so fewer KV heads (MQA, GQA) measure smaller.",
    prompt: "Prompt ",
    temperature: " Temperature ",
    top_k_title: "0: the whole vocabulary",
    generate: "Generate",
    checkpoints_heading: "Checkpoints",
    checkpoints_hint: [
        "Save the newest run as one .safetensors file: its parameters, AdamW state, \
         configuration and step (the command line's ",
        " continues it too). Open it again to continue training, or open a Hugging Face folder \
         (config.json and model.safetensors of a LLaMA, Mistral, Qwen3, OLMo 2, GPT-2 or \
         GPT-NeoX model, with its tokenizer.json to type text into Look at and Generate) to see \
         its attention maps and norms and train it on the page's data.",
    ],
    save_newest: "Save the newest run",
    open_files: "Open files ",
    open_folder: "Open a folder ",
    drop_here: "…or drop a checkpoint's files here.",
    runs_kept: "Runs are kept in this browser and come back after a reload.",
    forget_saved: "Forget saved runs",
    sweep_summary: "Learning-rate sweep · ",
    sweep_hint: "{variants} at each learning rate, one seed ({command} trains all six \
                 variants). The page's size settings and a run length set in the controls apply \
                 to every lane.",
    sweep_lrs: "Learning rates ",
    sweep_run: "Run the learning-rate sweep",
    sweep_chart_label: "final validation loss against learning rate",
    sweep_caption: "Log axis. A triangle along the top: a learning rate at which the variant \
                    diverged (a non-finite loss).",
    sweep_table_hint: "Final validation loss in nats per token; \"-\" while a learning rate still \
                       trains.",
    calc_heading: "At real size",
    calc_hint: "Each preset at its published size: parameters (counted as the readouts count \
                them), the weights and the KV cache of a batch of sequences in a number format. \
                Every layer's cache counted in full (a sliding-window layer could keep its \
                window).",
    calc_labels: ["preset", "all", "context", "batch", "format"],
    calc_columns: ["model", "parameters", "weights", "KV cache"],
    rules_heading: "Rules of thumb",
    rules_invalid: "— while the configuration is invalid",
    rules_columns: ["ratio", "here", "lecture"],
    rules_summary: "The lecture's rules, and the published models' values",

    text_heading: "Your text",
    text_hint: "Paste a text or open a .txt file, and train on it: by characters, or by bytes \
                with the data control (\"your text, bytes\"). The text stays in this page; the \
                address bar keeps only the settings, so a shared link asks for a text again.",
    train_on_text: "Train on this text",
    open_txt: "Open a .txt file ",

    run_name: "run {id}: {label}",
    mark_run: "mark run {id} to compare",
    seeds_diverged: "{n} of {seeds}",
    generate_readout: "{tokens} tokens in {time}, {rate} tokens/s on the {engine}; KV cache \
                       {bytes}",
    memory_readout: "Memory: {need} of the {total} {owner} may hold ({share} %); largest buffer \
                     {largest} of {limit}.",
    rule_range: ["no range", "{low} to {high}"],
    rule_verdict: ["within", "outside"],
    sweep_chart: ChartText {
        title: "Final validation loss against learning rate",
        x: "learning rate",
        y: "validation loss (nats)",
    },
    sweep_diverged: "diverged (a non-finite loss)",
    cell_readout: "query t={q} '{query}' → key t={k} '{key}': {value}",
    cell_masked: "masked",
    cell_nan: "p = {p} (NaN: the run diverged)",
    attention_map: MapText::ENGLISH,
};

pub const CHINESE: PageText = PageText {
    tagline: "实时训练一个小型 Transformer，同时切换斯坦福 CS336 第 3 讲中的各种架构选择：\
              归一化、激活函数、位置编码、注意力等等。",
    language: "语言",
    detecting: "正在查找 WebGPU…",
    skip_link: "跳到训练控制",
    note_gpu: "训练在 WebGPU 引擎上进行：每一步都是你的 GPU 上的一串 WGSL 内核，页面绘图时有几步\
               同时在途。默认模型是 LLaMA 风格的 default 预设（d_model 64，4 层，上下文 64，\
               批大小 16）；下方的内核检查会在你的 GPU 上把这些内核与 CPU 引擎对比。",
    note_cpu: "训练在 CPU 引擎上进行，以 WebAssembly 运行在本页面的线程中，所以默认模型很小\
               （d_model 32，2 层，上下文 32，批大小 8）：一步只需几毫秒，页面保持流畅。有 \
               WebGPU 时（见下方面板），页面会在你的 GPU 上训练，更快，默认规模也更大。",
    no_webgpu: "此浏览器不提供 WebGPU，而 archlab 用它在你的 GPU 上训练。请在较新的 Chrome 或 \
                Edge（113 或更高版本）、Safari 26，或 Windows 上的 Firefox 141 及以上版本中打开\
                本页。在 Linux 上，Chrome 需要开启 chrome://flags/#enable-unsafe-webgpu 和 \
                chrome://flags/#enable-vulkan。",
    no_adapter: "此浏览器支持 WebGPU，但没有提供 GPU 适配器：GPU 或其驱动可能被屏蔽，或硬件加速\
                 已关闭。请查看 chrome://gpu（或 about:support）并开启硬件加速；在 Linux 上，\
                 Chrome 需要开启 chrome://flags/#enable-unsafe-webgpu 和 \
                 chrome://flags/#enable-vulkan。也可以换一个浏览器试试。",
    device_lost: "GPU 设备已丢失，且无法获得新的设备：训练改用 CPU 引擎继续。重新加载页面会再次\
                  请求 GPU。",
    backend: "{backend} 后端",
    software: "，软件渲染",
    device_lost_short: "GPU 设备已丢失",
    no_adapter_short: "此浏览器没有 WebGPU 适配器",
    looking_for_gpu: "正在查找 GPU…",
    technical_detail: "技术细节",
    check_heading: "内核检查",
    check_intro: "先用随机输入运行矩阵乘法内核，与在 CPU 上用 Rust 计算的同一乘积对比；再在这块 \
                  GPU 上训练两个小模型几步（覆盖每一类内核），与 CPU 引擎对比。误差在其界限之内\
                  （比值 ≤ 1）即为通过。",
    check_run: "运行内核检查",
    check_pauses: "检查期间训练暂停（几秒钟），之后继续。",
    checking: "检查中…",
    check_skipped: "未运行：没有可用的 WebGPU 设备。",
    check_failed: "检查无法运行：",
    check_columns: ["内核", "误差 / 界限", "结果"],
    check_pass: "通过",
    check_fail: "失败",

    training: "训练",
    play: "播放",
    pause: "暂停",
    step: "单步",
    reset: "重置",
    log_scale: " 对数刻度损失",
    smoothing: "平滑 ",
    none: "无",
    readouts: ["参数量", "训练 FLOPs/token", "KV 缓存/token", "tokens/秒"],
    engine: "引擎：",
    no_run: "没有运行",
    cannot_train: "此配置无法训练：",
    go_to_control: "转到该控件",
    cannot_start: "这些设置无法开始新的运行（运行 {id} 按它自己先前的设置继续）：",
    play_titles: [
        "播放：实验继续训练：{banner}",
        "播放：运行 {id} 从第 {done} 步继续训练",
        "没有可训练的了：运行 {id}：{status}。重置会从第 0 步重新训练它；更改设置会开始新的运行。",
        "没有可训练的：没有运行。重置会按当前设置开始一个运行。",
    ],
    tokens_of_run: "tokens/秒，运行 {id}",

    runs: "运行",
    show: "显示",
    hide: "隐藏",
    remove: "删除",
    json_title: "配置以及每一步的指标",
    csv_title: "metrics.csv，与命令行写出的相同",
    status: [
        "第 {done} 步，共 {steps} 步",
        "已完成，共 {done} 步",
        "在第 {step} 步发散",
        "因引擎错误在第 {step} 步之前停止",
        "在第 {step} 步停止",
    ],

    loss_chart: ChartText {
        title: "损失（浅色：训练，实线：验证）",
        x: "步",
        y: "nats/token",
    },
    log_axis: "{axis}（对数刻度）",
    loss_bpc_chart: ChartText {
        title: "每字符比特数的验证损失（各运行的分词器不同）",
        x: "步",
        y: "比特/字符",
    },
    profile_chart: ChartText {
        title: "各层的 RMS，最新一步（最新运行）",
        x: "层",
        y: "RMS",
    },
    grad_chart: ChartText {
        title: "梯度范数（裁剪前）",
        x: "步",
        y: "范数",
    },
    lr_chart: ChartText {
        title: "学习率",
        x: "步",
        y: "学习率",
    },
    logit_chart: ChartText {
        title: "最大注意力 logit（QK-norm 会限制它）",
        x: "步",
        y: "max q·k/√d",
    },
    download_png: "将 {title} 下载为 PNG",
    across_heading: "跨运行",
    across_hint: "每个显示中的运行用各自的颜色：归一化位置决定了残差流和穿过各层的梯度路径；\
                  z-loss 把 log Z 拉向 0（不用 z-loss 时也会记录）；权重衰减和学习率调度改变\
                  参数范数。",
    norms_chart: ChartText {
        title: "某一层的残差流 RMS",
        x: "步",
        y: "RMS",
    },
    layer_grad_chart: ChartText {
        title: "某一层的梯度范数",
        x: "步",
        y: "L2 范数",
    },
    log_z_chart: ChartText {
        title: "log Z（softmax 归一化因子，批均值）",
        x: "步",
        y: "nats",
    },
    param_norm_chart: ChartText {
        title: "参数范数（每次更新后）",
        x: "步",
        y: "L2 范数",
    },
    layer: "层 ",
    compare_heading: "两个运行的注意力图并排对比",
    compare_hint: "每个运行最新的样例（最新运行的样例跟随上面的滑块），层和头在这里选择，\
                   或点击一张图选择。",
    compare_run: "运行 {name} ",
    run_n: "运行 {id}",
    compare_parts: ["层 ", "头 "],
    compare_sides: ["甲", "乙"],
    compare_caption: "{name}：第 {layer} 层，第 {head} 个头",
    compare_no_map: "{name}：第 {layer} 层第 {head} 个头还没有注意力图",
    functions_heading: "模型的函数",
    functions_hint: "CPU 引擎计算出的 MLP 激活函数（门控单元再把曲线乘以第二个投影 y），本模型\
                     所用的加粗显示；以及每一层之后最后一个位置能看到多少个位置（滑动窗口每层\
                     大约增加一个窗口宽度，最多到上下文长度）。",
    activation_chart: ChartText {
        title: "激活函数",
        x: "x",
        y: "act(x)",
    },
    receptive_chart: ChartText {
        title: "感受野（虚线：上下文）",
        x: "层",
        y: "位置数",
    },

    attention_heading: "注意力图",
    attention_hint: "最新运行在验证样例 0 或你自己的输入上的注意力，每秒重绘：行是查询，列是键；\
                     蓝色是注意力，灰色是被遮蔽，橙色是 NaN（运行已发散）。点击一张图将其放大；\
                     在放大的图上指向一个格子，或聚焦后用方向键，即可读出数值。",
    look_at: "查看 ",
    look_at_placeholder: "一段文字，或 token id，例如 3 14 15",
    look_at_empty: "（留空：验证样例）",
    back_in_training: "回看训练过程 ",
    live: "实时",
    at_step: "第 {step} 步",
    at_live: "实时",
    example_norms: "此样例前向传播中的 RMS（残差流 / 注意力输出 / MLP 输出）：",
    layer_n: "第 {l} 层",
    tokens: "Token（查询从上到下，键从左到右）：",
    position: "位置 {i}",
    enlarge: "放大第 {layer} 层第 {head} 个头",
    enlarged_label: "放大的注意力图：方向键在格子间移动",
    point_at_cell: "指向一个格子以读出数值。",
    map_png: "将此图下载为 PNG",

    sample_heading: "样本",
    sample_hint: "最新运行在训练时自己写出的文字：每 {every} 步生成一个新样本，以数据中的几个字符\
                  开头，温度为 {temperature}。",
    sample_empty: "（仅限文本数据：几步之后出现第一个样本）",

    controls_label: "架构控件",
    presets_heading: "真实架构",
    experiments_heading: "讲义实验",
    experiments_hint: "每个实验把它的各个变体放在一起训练，轮流各走一步，用两个随机种子，并在运行\
                       列表上方给出论断、专属图表和结果表。页面的规模设置和控件中设定的运行长度\
                       （优化：步数）适用于每个变体，除非实验自己设定了它们。",
    watch: "观察：",
    run_experiment: "运行 {name}（{n} 个变体）",
    stop_experiment: "停止实验",
    experiment_loss: "{name}：验证损失，各种子的最小–最大范围",
    experiment_loss_y: "验证损失（{unit}）",
    experiment_difference: "训练损失减去 {first} 的训练损失",
    experiment_difference_y: "差值（nats）",
    banner: "实验 {name}：{state}，{size}",
    banner_marked: "运行 {ids} 同步训练：{state}，{size}",
    banner_state: [
        "第 {step} 步，共 {steps} 步",
        "在第 {step} 步停止",
        "已完成",
        "第 {step} 步，共 {steps} 步（按播放将从第 0 步重新开始）",
    ],
    banner_size: [
        "{variants} 个变体 × {seeds} 个种子",
        "{variants} 个变体 × {lrs} 个学习率",
        "{variants} 个运行 × {seeds} 个种子",
    ],
    banner_diverged: "{lane} 在第 {step} 步发散",
    verdict_waits: "所有通道结束后给出结论。",
    verdict_no_claim: "标记的运行不对应任何论断：这些数字本身就是比较。",
    session_title: "分享本次会话",
    session_intro: "生成一个链接（太长时改为一个文件），在另一个浏览器中打开正在比较的运行和实验。\
                    参数不会随之传递：最新的运行和未完成的实验会在那里从第 0 步重新训练。",
    share_session: "分享会话",
    open_session_file: "打开会话文件 ",
    open_run_json: "打开运行 JSON ",
    download_session: "下载会话文件",
    session_link_label: "本次会话的链接",
    link_whole: "链接包含各个运行和实验，以及它们的历史记录。",
    link_without_histories: "带上历史记录，链接会超过 {limit}：它只包含运行和实验的配置\
                             （运行回来时没有曲线，实验重新开始）。会话文件包含全部内容。",
    link_too_long: "即使不带历史记录，链接也需要 {size}，超过了链接能容纳的 {limit}：\
                    请改为分享会话文件。",
    compare_marked: "同步比较",
    compare_marked_title: "把标记的运行一起重新训练：相同的批次，相同的初始值",
    marked_count: "已标记 {n} 个",
    verdict_line: "论断：{claim}。结论：{verdict}（{numbers}）。",
    rule: "规则：",
    results_header: [
        "变体",
        "验证损失，{unit}（均值）",
        "各种子的最小–最大",
        "参数量",
        "FLOPs/token",
        "KV 缓存/token",
        "tokens/秒",
        "最大注意力 logit",
        "log Z",
        "发散的种子",
    ],

    generate_heading: "生成",
    generate_hint: "用最新的运行续写你的提示，共 {tokens} 个 token，一次一个：每个新 token 读取\
                    之前各 token 保存下来的键和值（KV 缓存），所以 KV 头越少（MQA、GQA），\
                    测得的缓存越小。",
    prompt: "提示 ",
    temperature: " 温度 ",
    top_k_title: "0：整个词表",
    generate: "生成",
    checkpoints_heading: "检查点",
    checkpoints_hint: [
        "把最新的运行保存为一个 .safetensors 文件：包括参数、AdamW 状态、配置和步数（命令行的 ",
        " 也能接着训练它）。再次打开即可继续训练；也可以打开一个 Hugging Face 文件夹（LLaMA、\
         Mistral、Qwen3、OLMo 2、GPT-2 或 GPT-NeoX 模型的 config.json 和 model.safetensors，\
         附带 tokenizer.json 时可在“查看”和“生成”中输入文字），\
         查看它的注意力图和范数，并用本页的数据训练它。",
    ],
    save_newest: "保存最新的运行",
    open_files: "打开文件 ",
    open_folder: "打开文件夹 ",
    drop_here: "……或把检查点文件拖到这里。",
    runs_kept: "运行保存在此浏览器中，重新加载后会恢复。",
    forget_saved: "清除保存的运行",
    sweep_summary: "学习率扫描 · ",
    sweep_hint: "{variants} 在每个学习率下各训练一次，一个种子（{command} 会训练全部六个\
                 变体）。页面的规模设置和控件中设定的运行长度适用于每个通道。",
    sweep_lrs: "学习率 ",
    sweep_run: "运行学习率扫描",
    sweep_chart_label: "最终验证损失与学习率的关系",
    sweep_caption: "对数坐标轴。顶部的三角形：该变体在此学习率下发散（损失不是有限数）。",
    sweep_table_hint: "最终验证损失，单位为 nats/token；某个学习率仍在训练时显示“-”。",
    calc_heading: "真实规模",
    calc_hint: "每个预设在其公开规模下的参数量（与读数的计法相同）、权重，以及一批序列在某种数值\
                格式下的 KV 缓存。每一层的缓存都按完整大小计算（滑动窗口层其实可以只保留窗口）。",
    calc_labels: ["预设", "全部", "上下文", "批大小", "格式"],
    calc_columns: ["模型", "参数量", "权重", "KV 缓存"],
    rules_heading: "经验法则",
    rules_invalid: "— 配置无效时不显示",
    rules_columns: ["比值", "本模型", "讲义"],
    rules_summary: "讲义中的法则，以及公开模型的取值",

    text_heading: "你的文本",
    text_hint: "粘贴一段文字或打开一个 .txt 文件，然后在上面训练：按字符，或用数据控件按字节\
                （“你的文本，字节”）。文本只留在本页面中；地址栏只保存设置，所以分享的链接会\
                再次请求文本。",
    train_on_text: "用这段文本训练",
    open_txt: "打开 .txt 文件 ",

    run_name: "运行 {id}：{label}",
    mark_run: "标记运行 {id} 以便比较",
    seeds_diverged: "{seeds} 个中的 {n} 个",
    generate_readout: "{tokens} 个 token，用时 {time}，{rate} tokens/s，使用{engine}；KV 缓存 \
                       {bytes}",
    memory_readout: "内存：{need}，{owner}最多可用 {total}（{share} %）；最大缓冲区 {largest}，\
                     上限 {limit}。",
    rule_range: ["无范围", "{low} 到 {high}"],
    rule_verdict: ["范围内", "范围外"],
    sweep_chart: ChartText {
        title: "最终验证损失与学习率",
        x: "学习率",
        y: "验证损失（nats）",
    },
    sweep_diverged: "发散（损失不是有限数）",
    cell_readout: "查询 t={q} '{query}' → 键 t={k} '{key}'：{value}",
    cell_masked: "被遮蔽",
    cell_nan: "p = {p}（NaN：运行已发散）",
    attention_map: MapText {
        caption: "第 {} 层 第 {} 头",
        nan_note: "NaN：运行已发散",
    },
};

/// The page's words in `lang`.
pub fn of(lang: Lang) -> &'static PageText {
    match lang {
        Lang::En => &ENGLISH,
        Lang::Zh => &CHINESE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every English text of the page has its Chinese.
    #[test]
    fn chinese_is_complete() {
        let json = |text: &PageText| serde_json::to_value(text).expect("plain data");
        let missing = crate::lab::i18n::missing(&json(&ENGLISH), &json(&CHINESE));
        assert!(missing.is_empty(), "no Chinese for {missing:?}");
    }

    /// The same placeholders in both languages, so no value is lost in translation.
    #[test]
    fn placeholders_agree() {
        fn holes(text: &str) -> Vec<&str> {
            let mut holes: Vec<&str> = text
                .split('{')
                .skip(1)
                .filter_map(|part| part.split_once('}').map(|(name, _)| name))
                .collect();
            holes.sort_unstable();
            holes
        }
        let strings = |text: &PageText| {
            let mut out = Vec::new();
            collect(&serde_json::to_value(text).expect("plain data"), &mut out);
            out
        };
        fn collect(value: &serde_json::Value, out: &mut Vec<String>) {
            match value {
                serde_json::Value::String(s) => out.push(s.clone()),
                serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
                serde_json::Value::Object(map) => map.values().for_each(|v| collect(v, out)),
                _ => {}
            }
        }
        for (en, zh) in strings(&ENGLISH).iter().zip(strings(&CHINESE).iter()) {
            assert_eq!(holes(en), holes(zh), "{en} / {zh}");
        }
    }
}
