//! Every screen state of the dashboard, drawn on ratatui's `TestBackend`: the App is built
//! only by feeding it what the trainer and the keyboard would (updates, samples, keys, ticks),
//! then each screen is checked for the content a person needs and kept as an insta snapshot
//! (`tests/snapshots/`; review changes with `cargo insta review` or by reading the diff).

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

#[path = "support/fixtures.rs"]
mod fixtures;

use relutui::dashboard::app::{App, Event};
use relutui::dashboard::ui;
use relutui::protocol::{
    ActivationSnapshot, ActiveUnitsHist, ClaimsReport, EpochReport, Position, RunState, Sample,
    Update,
};

use fixtures::{report, run_info as info, BPE, PROBE};

/// Activations with exact zeros, small and large values, in a fixed pattern.
fn snapshot(net: usize, layer: usize, units: usize) -> ActivationSnapshot {
    let values = (0..PROBE * units)
        .map(|i| {
            let (e, u) = (i / units, i % units);
            if (e * 7 + u * 3) % 5 < 3 {
                0.0
            } else {
                ((e + 2 * u) % 9) as f32 * 0.25 + 0.01
            }
        })
        .collect();
    ActivationSnapshot {
        net,
        layer,
        examples: PROBE,
        units,
        values,
    }
}

fn at(epoch: usize, batch: usize) -> Position {
    Position {
        epoch,
        batch,
        step: (epoch * BPE + batch) as u64,
    }
}

fn key(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// The running sparsity at fractional epoch `x`: rising for the rectifier layers, none for
/// bounded activations (tanh has no exact zeros).
fn live(nets: &[(&str, bool)], layers: usize, x: f64) -> Vec<Vec<f64>> {
    nets.iter()
        .map(|&(_, bounded)| {
            (0..layers)
                .map(|l| {
                    if bounded {
                        0.0
                    } else {
                        (0.5 + 0.06 * x - 0.04 * l as f64).min(0.95)
                    }
                })
                .collect()
        })
        .collect()
}

/// A run three epochs and a bit in, with a learning-rate change along the way.
fn running(nets: &[(&str, bool)], hidden: &[usize], color: bool) -> App {
    let mut app = App::new(color);
    let layers = hidden.len();
    app.update(Event::Update(Update::Started(info(nets, hidden, Some(10)))));
    app.update(Event::Update(Update::State(RunState::Running)));
    app.update(Event::Tick(Duration::ZERO));
    for epoch in 0..3 {
        for k in 0..40 {
            let batch = k * 20;
            let loss = 2.0 / (1.0 + (epoch * 40 + k) as f32 * 0.2);
            app.update(Event::Sample(Sample {
                at: at(epoch, batch),
                losses: (0..nets.len())
                    .map(|i| loss * (1.0 + i as f32 * 0.3))
                    .collect(),
                examples_per_sec: 731.4,
                activations: None,
                watched: Vec::new(),
                live_sparsity: live(nets, layers, epoch as f64 + k as f64 / 40.0),
            }));
        }
        for (i, &(name, bounded)) in nets.iter().enumerate() {
            app.update(Event::Update(Update::Epoch(report(
                name,
                i,
                bounded,
                layers,
                epoch + 1,
            ))));
        }
        if epoch == 1 {
            app.update(key('+'));
            app.update(Event::Update(Update::LrChanged {
                at: at(2, 300),
                lr: 0.2,
            }));
        }
    }
    app.update(Event::Sample(Sample {
        at: at(3, 412),
        losses: vec![0.05; nets.len()],
        examples_per_sec: 731.4,
        activations: Some(snapshot(0, 0, hidden[0])),
        watched: Vec::new(),
        live_sparsity: live(nets, layers, 3.5),
    }));
    app.update(Event::Tick(Duration::from_secs(83)));
    app
}

fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|f| ui::draw(f, app)).expect("draw");
    terminal
}

/// The screen as plain text, one line per row.
fn text(terminal: &Terminal<TestBackend>) -> String {
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

const TWO: [(&str, bool); 2] = [("rectifier", false), ("tanh", true)];
const PAPER: [usize; 3] = [1000, 1000, 1000];

#[test]
fn running_80x24() {
    let app = running(&TWO, &PAPER, true);
    let t = draw(&app, 80, 24);
    let s = text(&t);
    for want in [
        "RUNNING",
        "mnist10k",
        "784-1000-1000-1000-10",
        "lr 0.2",
        "l1 0.001",
        "731 ex/s",
        "0:01:23",
        "epoch 4/10",
        "batch 412/800",
        "rectifier",
        "tanh",
        "valid 4.97%",
        "▲lr 0.2",
        "exactly 0",
        "q quit",
    ] {
        assert!(s.contains(want), "{want:?} is not on the screen:\n{s}");
    }
    // Per-layer sparsity of the rectifier, saturation of tanh.
    assert!(s.contains("▸h1 ≈71.0%"), "{s}");
    assert!(s.contains("v70.0%"), "{s}");
    assert!(s.contains("s   3"), "{s}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn running_120x40() {
    let app = running(&TWO, &PAPER, true);
    let t = draw(&app, 120, 40);
    let s = text(&t);
    for want in [
        "RUNNING",
        "lr 0.2",
        "rectifier",
        "tanh",
        "epoch 3.5",
        " h3 ≈ 63.0%",
        "val  60.0% dead    3",
        "left: epoch 0:11, run 2:33",
    ] {
        assert!(s.contains(want), "{want:?} is not on the screen:\n{s}");
    }
    insta::assert_snapshot!(t.backend());
}

#[test]
fn paused() {
    let mut app = running(&TWO, &PAPER, true);
    app.update(Event::Update(Update::State(RunState::Paused)));
    let t = draw(&app, 80, 24);
    let s = text(&t);
    assert!(s.contains("PAUSED") && !s.contains("RUNNING"), "{s}");
    assert!(s.contains("lr 0.2") && s.contains("- ex/s"), "{s}");
    assert!(s.contains("space resume"), "{s}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn done() {
    let mut app = running(&TWO, &PAPER, true);
    for epoch in 4..=10 {
        for (i, &(name, bounded)) in TWO.iter().enumerate() {
            app.update(Event::Update(Update::Epoch(report(
                name, i, bounded, 3, epoch,
            ))));
        }
    }
    app.update(Event::Update(Update::State(RunState::Done)));
    let t = draw(&app, 80, 24);
    let s = text(&t);
    assert!(s.contains("DONE") && s.contains("epoch 10/10 done"), "{s}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn help_overlay() {
    let mut app = running(&TWO, &PAPER, true);
    app.update(key('?'));
    let t = draw(&app, 80, 24);
    let s = text(&t);
    for want in [
        "relutui help",
        "pause / resume",
        "double the learning rate",
        "from 0 back to 0.001",
        "below 1e-6 it is 0",
        "next seed",
        "quit",
    ] {
        assert!(s.contains(want), "{want:?} is not in the help:\n{s}");
    }
    insta::assert_snapshot!(t.backend());
}

#[test]
fn too_small() {
    let app = running(&TWO, &PAPER, true);
    let t = draw(&app, 50, 15);
    let s = text(&t);
    assert!(s.contains("Enlarge the terminal"), "{s}");
    assert!(s.contains("50×15"), "{s}");
    assert!(!s.contains("RUNNING"), "no broken layout: {s}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn one_network() {
    let app = running(&[("rectifier", false)], &[500, 500], true);
    let t = draw(&app, 80, 24);
    let s = text(&t);
    assert!(s.contains("rectifier") && !s.contains("tanh"), "{s}");
    assert!(s.contains("784-500-500-10") && s.contains(" h2 "), "{s}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn four_networks() {
    let nets = [
        ("rectifier", false),
        ("tanh", true),
        ("softplus", false),
        ("sigmoid", true),
    ];
    let app = running(&nets, &PAPER, true);
    let t = draw(&app, 80, 24);
    let s = text(&t);
    for (name, _) in nets {
        assert!(s.contains(name), "{name} is missing:\n{s}");
    }
    insta::assert_snapshot!(t.backend());
}

#[test]
fn no_color() {
    let app = running(&TWO, &PAPER, false);
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    // Not one coloured cell.
    for cell in &buf.content {
        assert_eq!(cell.fg, ratatui::style::Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, ratatui::style::Color::Reset, "{cell:?}");
    }
    let s = text(&t);
    assert!(s.contains("░▒▓█"), "the heatmap legend uses shades: {s}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn starting() {
    let app = App::new(true);
    let t = draw(&app, 80, 24);
    let s = text(&t);
    assert!(s.contains("STARTING"), "{s}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn heatmap_zeros_are_blank_and_follow_focus() {
    let mut app = running(&TWO, &PAPER, true);
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    // Heatmap rows follow its title; the first holds examples 0 and 1.
    let title = text(&t)
        .lines()
        .position(|l| l.contains("exactly 0"))
        .expect("the heatmap's title");
    let y = u16::try_from(title).expect("a row") + 1;
    // Unit 0 is exactly 0 on examples 0, 1 and 3, and not on example 2.
    assert_eq!(buf[(0, y)].symbol(), " ", "two exact zeros: blank");
    let cell = &buf[(0, y + 1)];
    assert_eq!(cell.symbol(), "▀", "a value on top, a zero below");
    assert_ne!(
        cell.fg,
        ratatui::style::Color::Reset,
        "the value has a colour"
    );
    assert_eq!(cell.bg, ratatui::style::Color::Reset, "the zero has none");
    // Another layer's snapshot is not shown for the focused one.
    app.update(Event::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
    let s = text(&draw(&app, 80, 24));
    assert!(
        s.contains("rectifier h2") && s.contains("waiting for a snapshot"),
        "{s}"
    );
}

#[test]
fn a_diverged_network_is_marked_and_u_leads_the_footer() {
    let mut app = running(&TWO, &PAPER, true);
    app.update(Event::Update(Update::Diverged {
        net: 1,
        at: at(3, 400),
        reason: "the loss is NaN".into(),
    }));
    let s = text(&draw(&app, 80, 24));
    assert!(s.contains("tanh DIVERGED"), "{s}");
    assert!(
        s.contains("lower lr with -, then u"),
        "the status says what to do: {s}"
    );
    // The status goes at the next key; the footer then leads with u.
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Char('-'),
        KeyModifiers::NONE,
    )));
    let s = text(&draw(&app, 80, 24));
    let footer: Vec<&str> = s.lines().rev().take(2).collect();
    let footer = format!("{}\n{}", footer[1], footer[0]);
    assert!(footer.starts_with(" u restore"), "{footer}");
    assert!(footer.contains("q quit"), "{footer}");
}

/// [`report`] with the claims measurements: the rectifier's layers are stable, sparse and
/// lose a few units this epoch; tanh's use the `0.1 · max` rule and are dense.
fn report_with_claims(
    net: &str,
    i: usize,
    bounded: bool,
    layers: usize,
    epoch: usize,
) -> EpochReport {
    let mut r = report(net, i, bounded, layers, epoch);
    let hist = |l: usize| {
        let p50 = if bounded {
            700.0
        } else {
            300.0 - 40.0 * l as f64
        };
        ActiveUnitsHist {
            units: 1000,
            mean: p50,
            p5: p50 - 90.0,
            p25: p50 - 40.0,
            p50,
            p75: p50 + 40.0,
            p95: p50 + 110.0,
            bin_width: 50,
            bins: (0..20u32)
                .map(|b| {
                    let d = (f64::from(b) * 50.0 - p50).abs() / 50.0;
                    (12.0 - 3.0 * d).max(0.0) as u32
                })
                .collect(),
        }
    };
    r.claims = Box::new(ClaimsReport {
        probe_examples: PROBE,
        active_rule: if bounded { "above_0.1_max" } else { "nonzero" }.into(),
        active_threshold: vec![if bounded { 0.08 } else { 0.0 }; layers],
        active_set_stability: (0..layers)
            .map(|l| Some(if bounded { 0.61 } else { 0.87 } - 0.03 * l as f64))
            .collect(),
        activation_change: (0..layers)
            .map(|l| Some(if bounded { 0.12 } else { 0.21 } + 0.04 * l as f64))
            .collect(),
        active_units_hist: (0..layers).map(hist).collect(),
        active_ink_correlation: (0..layers)
            .map(|l| (l < 2).then_some(if bounded { 0.12 } else { 0.58 }))
            .collect(),
        linear_probe_error: (0..layers).map(|l| 0.031 + 0.004 * l as f64).collect(),
        linear_probe_error_pixels: 0.081,
        linear_probe_fit_examples: 1000,
        flops_dense: 2_794_000.0,
        flops_if_sparse: if bounded { 2_500_000.0 } else { 1_050_000.0 },
        silent_units: vec![0; layers],
        died_this_epoch: (0..layers).map(|l| if l == 0 { 3 } else { 0 }).collect(),
        claims_seconds: 0.2,
    });
    r
}

#[test]
fn claims_view_80x24() {
    let mut app = running(&TWO, &PAPER, true);
    for (i, &(name, bounded)) in TWO.iter().enumerate() {
        app.update(Event::Update(Update::Epoch(report_with_claims(
            name, i, bounded, 3, 4,
        ))));
    }
    app.update(key('c'));
    assert!(app.show_claims);
    app.update(Event::Update(Update::Revived {
        at: at(1, 100),
        units: vec![vec![vec![4, 9], vec![], vec![1]], vec![vec![]; 3]],
    }));
    let t = draw(&app, 80, 24);
    let s = text(&t);
    for want in [
        "1 stabil. ↑",
        "0.87",
        "0.61",
        "3.1%",
        "4 zeros save ↑ 62%",
        "px8.1%",
        "d  12 +3",
        "▲rev 3",
        "revived 3 dead units",
        "loss",
    ] {
        assert!(s.contains(want), "{want:?} is not on the screen:\n{s}");
    }
    assert!(!s.contains("valid 4."), "the error numbers give way:\n{s}");
    insta::assert_snapshot!(t.backend());
}

/// The first seconds of a run: no epoch has ended, yet every layer has a running figure.
fn mid_first_epoch(color: bool) -> App {
    let mut app = App::new(color);
    app.update(Event::Update(Update::Started(info(&TWO, &PAPER, Some(10)))));
    app.update(Event::Update(Update::State(RunState::Running)));
    app.update(Event::Tick(Duration::ZERO));
    app.update(Event::Sample(Sample {
        at: at(0, 37),
        losses: vec![1.9, 2.1],
        examples_per_sec: 731.4,
        activations: Some(snapshot(0, 0, PAPER[0])),
        watched: Vec::new(),
        live_sparsity: vec![vec![0.488, 0.512, 0.547], vec![0.0; 3]],
    }));
    app.update(Event::Tick(Duration::from_secs(1)));
    app
}

#[test]
fn live_gauges_mid_epoch() {
    let app = mid_first_epoch(true);
    let t = draw(&app, 80, 24);
    let s = text(&t);
    for want in [
        "exact zeros per layer",
        "≈48.8%",
        "≈54.7%",
        "v   -",
        "first point at the end of epoch 1",
    ] {
        assert!(s.contains(want), "{want:?} is not on the screen:\n{s}");
    }
    insta::assert_snapshot!(t.backend());
}

#[test]
fn claims_view_names_the_four_claims_120x40() {
    let mut app = running(&TWO, &PAPER, true);
    for (i, &(name, bounded)) in TWO.iter().enumerate() {
        app.update(Event::Update(Update::Epoch(report_with_claims(
            name, i, bounded, 3, 4,
        ))));
    }
    app.update(key('c'));
    let t = draw(&app, 120, 40);
    let s = text(&t);
    for want in [
        "claim (↑/↓ better)",
        "1 stability ↑ (0-1)",
        "2 on-units p50 (of 1000)",
        "3 probe error ↓ px 8.1%",
        "4 zeros save ↑ 62% of multiply-adds, on h≠0",
        "on |h|>0.1·max",
        "p5/50/95",
    ] {
        assert!(s.contains(want), "{want:?} is not on the screen:\n{s}");
    }
    insta::assert_snapshot!(t.backend());
}

#[test]
fn light_theme_uses_no_bright_white() {
    use ratatui::style::Color;
    for theme in [
        relutui::dashboard::theme::Theme::Dark,
        relutui::dashboard::theme::Theme::Light,
    ] {
        let mut app = running(&TWO, &PAPER, true);
        app.theme = theme;
        let t = draw(&app, 120, 40);
        let buf = t.backend().buffer();
        let mut darkest = false;
        for cell in &buf.content {
            assert_ne!(cell.fg, Color::White, "{theme:?}: bright white text");
            assert_ne!(cell.bg, Color::White, "{theme:?}: bright white cell");
            let heat = matches!(cell.symbol(), "▀" | "▄");
            darkest |= heat && (cell.fg == Color::Black || cell.bg == Color::Black);
        }
        // On a light background the strongest activations are black, never white.
        assert_eq!(
            darkest,
            theme == relutui::dashboard::theme::Theme::Light,
            "{theme:?}"
        );
        if theme == relutui::dashboard::theme::Theme::Light {
            insta::assert_snapshot!("light_theme", t.backend());
        }
    }
}

#[test]
fn the_end_of_run_summary() {
    let mut app = running(&TWO, &PAPER, true);
    app.log = Some("runs/a.jsonl".into());
    app.checkpoint = Some("runs/a.ckpt".into());
    let summary = relutui::dashboard::summary::render(&app);
    for want in [
        "relutui summary: mnist10k 784-1000-1000-1000-10, seed 1, 3 epochs/10 done",
        "rectifier  final (epoch 3)",
        "best valid",
        "h1 ",
        "dead)",
        "saturated)",
        "wall time 0:01:23",
        "log: runs/a.jsonl",
        "checkpoint: runs/a.ckpt",
    ] {
        assert!(summary.contains(want), "{want:?} not in:\n{summary}");
    }
    assert!(!summary.contains('\u{1b}'), "no escape codes");
    insta::assert_snapshot!(summary);
}

/// Networks with their own rates: the summary says each one's, not one run-wide value.
#[test]
fn the_summary_gives_each_network_its_own_lr_and_l1() {
    let mut app = running(&TWO, &PAPER, true);
    app.update(Event::Update(Update::NetSettings {
        at: Position::default(),
        lrs: vec![0.1, 0.01],
        l1s: vec![0.001, 0.0],
    }));
    let summary = relutui::dashboard::summary::render(&app);
    let first = summary.lines().next().unwrap();
    assert!(!first.contains("lr "), "no run-wide lr: {first}");
    let line = |name: &str| {
        summary
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line in:\n{summary}"))
            .to_string()
    };
    assert!(line("rectifier").contains("lr 0.1 l1 0.001"), "{summary}");
    assert!(line("tanh").contains("lr 0.01 l1 0"), "{summary}");
}

#[test]
fn done_footer_offers_what_works() {
    let mut app = running(&TWO, &PAPER, true);
    app.update(Event::Update(Update::State(RunState::Done)));
    for width in [80, 120] {
        let s = text(&draw(&app, width, 24));
        let footer: String = s.lines().rev().take(2).collect::<Vec<_>>().join("\n");
        assert!(footer.contains("DONE"), "{footer}");
        assert!(footer.contains("r run again"), "{footer}");
        assert!(
            !footer.contains("pause") && !footer.contains("step"),
            "{footer}"
        );
    }
}

#[test]
fn sparsity_chart_and_reading_help() {
    let mut app = running(&TWO, &PAPER, true);
    app.update(key('s'));
    let t = draw(&app, 120, 40);
    let s = text(&t);
    assert!(
        s.contains("h1 exact zeros: ⠶ running  • valid at epoch end"),
        "{s}"
    );
    insta::assert_snapshot!("sparsity_chart", t.backend());
    app.update(key('?'));
    app.update(Event::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
    let t = draw(&app, 80, 24);
    let s = text(&t);
    for want in [
        "lr learning rate",
        "h1 h2",
        "4 zeros save",
        "px: the same on the raw pixels",
    ] {
        assert!(
            s.contains(want),
            "{want:?} is not in the help at 80×24:\n{s}"
        );
    }
    insta::assert_snapshot!("reading_help_80x24", t.backend());
}
