//! A run left overnight must not eat memory: the dashboard's state after 10,000 epochs
//! (with the loss samples, rate changes and snapshots that come with them) holds no more
//! memory than after 100, measured with a counting allocator.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
#[path = "support/fixtures.rs"]
mod fixtures;

use relutui::dashboard::app::{App, Event};
use relutui::protocol::{
    ActivationSnapshot, EpochReport, Position, RunInfo, RunState, Sample, Update,
};

use fixtures::BPE;

const UNITS: usize = 32;

fn info() -> RunInfo {
    fixtures::run_info(&[("rectifier", false), ("tanh", true)], &[UNITS; 3], None)
}

fn report(net: &str, epoch: usize) -> EpochReport {
    let tanh = net == "tanh";
    fixtures::report(net, usize::from(tanh), tanh, 3, epoch)
}

/// Everything the trainer sends over `epochs` epochs: reports, five loss samples an epoch
/// (with a snapshot each), and a learning-rate change every tenth epoch.
fn feed(app: &mut App, epochs: usize) {
    for epoch in 1..=epochs {
        for batch in (0..BPE).step_by(BPE / 5) {
            let at = Position {
                epoch: epoch - 1,
                batch,
                step: ((epoch - 1) * BPE + batch) as u64,
            };
            app.update(Event::Sample(Sample {
                at,
                losses: vec![0.5, 0.6],
                examples_per_sec: 1000.0,
                activations: Some(ActivationSnapshot {
                    net: 0,
                    layer: 0,
                    examples: 48,
                    units: UNITS,
                    values: vec![0.5; 48 * UNITS],
                }),
                watched: Vec::new(),
                live_sparsity: vec![vec![0.5; 3], vec![0.0; 3]],
            }));
        }
        if epoch % 10 == 0 {
            app.update(Event::Update(Update::LrChanged {
                at: Position {
                    epoch,
                    batch: 0,
                    step: (epoch * BPE) as u64,
                },
                lr: 0.1 / epoch as f32,
            }));
        }
        app.update(Event::Update(Update::Epoch(report("rectifier", epoch))));
        app.update(Event::Update(Update::Epoch(report("tanh", epoch))));
    }
}

fn after(epochs: usize) -> usize {
    let (app, _, live) = counting_alloc::measure(|| {
        let mut app = App::new(true);
        app.update(Event::Update(Update::Started(info())));
        app.update(Event::Update(Update::State(RunState::Running)));
        feed(&mut app, epochs);
        app
    });
    assert_eq!(
        app.nets[0].last.as_ref().map(|r| r.epoch),
        Some(epochs),
        "every epoch arrived"
    );
    live
}

#[test]
fn ten_thousand_epochs_take_no_more_memory_than_a_hundred() {
    let hundred = after(100);
    let ten_thousand = after(10_000);
    eprintln!("live bytes: {hundred} after 100 epochs, {ten_thousand} after 10,000");
    assert!(hundred > 0, "the counter counts");
    assert!(
        ten_thousand <= hundred,
        "{ten_thousand} bytes after 10,000 epochs, {hundred} after 100"
    );
}
