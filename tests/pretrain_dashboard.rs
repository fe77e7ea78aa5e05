//! The dashboard in the pre-training phase, driven by events and drawn on `TestBackend`: the
//! phase's panel replaces the error chart, reconstruction errors stay out of the supervised
//! loss history, the lr keys act on the phase's rate, and the columns come back when
//! supervised training starts.

#[path = "support/fixtures.rs"]
mod fixtures;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use relutui::dashboard::app::{App, Event};
use relutui::dashboard::ui;
use relutui::protocol::PretrainAt;
use relutui::protocol::{ActivationSnapshot, Command, Position, RunInfo, RunState, Sample, Update};

fn info() -> RunInfo {
    RunInfo {
        probe_examples: 4,
        ..fixtures::run_info(&[("rectifier", false)], &[100, 50], Some(3))
    }
}

fn screen(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(90, 30)).unwrap();
    t.draw(|f| ui::draw(f, app)).unwrap();
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
#[expect(
    clippy::float_cmp,
    reason = "the rates are copied from the updates, not computed"
)]
fn the_phase_has_its_own_panel_rate_and_history() {
    let mut app = App::new(false);
    app.update(Event::Update(Update::Started(info())));
    app.update(Event::Update(Update::State(RunState::Running)));
    let at = PretrainAt {
        layer: 1,
        layers: 2,
        epoch: 0,
        epochs: 4,
        lr: 0.01,
    };
    app.update(Event::Update(Update::Pretraining(Some(at))));
    assert_eq!(app.lr, 0.01);
    assert_eq!(
        app.focus,
        (0, 1),
        "the heatmap follows the layer being pre-trained"
    );
    for (i, loss) in [30.0, 20.0, 12.5].into_iter().enumerate() {
        app.update(Event::Sample(Sample {
            at: Position {
                epoch: 0,
                batch: 100 * (i + 1),
                step: 900 + 100 * i as u64,
            },
            losses: vec![loss],
            examples_per_sec: 1000.0,
            live_sparsity: Vec::new(),
            watched: Vec::new(),
            activations: Some(ActivationSnapshot {
                net: 0,
                layer: 1,
                examples: 4,
                units: 50,
                values: (0..200)
                    .map(|v| if v % 4 == 0 { 0.0 } else { 0.5 })
                    .collect(),
            }),
        }));
    }
    assert!(
        app.nets[0].recent_loss().is_none(),
        "reconstruction errors are not the supervised loss"
    );
    let p = app.pretrain.as_ref().unwrap();
    assert_eq!(
        p.nets[0].recent.iter().copied().collect::<Vec<_>>(),
        [30.0, 20.0, 12.5]
    );
    assert_eq!(p.nets[0].probe_sparsity, Some(0.25));
    let s = screen(&app);
    assert!(s.contains("PRE-TRAINING layer 2/2"), "{s}");
    assert!(s.contains("batch 300/800"), "{s}");
    assert!(s.contains("reconstruction 12.500"), "{s}");
    assert!(s.contains("code sparsity 25.0% (probe)"), "{s}");
    assert!(!s.contains("train "), "the error numbers make room: {s}");
    // `+` raises the phase's rate, not the supervised one.
    let cmd = app.update(Event::Key(KeyEvent::new(
        KeyCode::Char('+'),
        KeyModifiers::NONE,
    )));
    match cmd {
        Some(Command::SetLr(lr)) => assert!(lr.get() > 0.01 && lr.get() < 0.05, "lr {lr}"),
        other => panic!("{other:?}"),
    }
    // Supervised training: the usual columns and the run's rate.
    app.update(Event::Update(Update::Pretraining(None)));
    assert!(app.pretrain.is_none());
    assert_eq!(app.lr, 0.1);
    let s = screen(&app);
    assert!(!s.contains("PRE-TRAINING"), "{s}");
}
