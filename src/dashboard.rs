//! The terminal dashboard: [`app`] holds the state and the logic (no I/O), [`ui`] draws it
//! (one file per panel), [`terminal`] owns the terminal and the event loop.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`app`] | `App::update(Event) -> Option<Command>`: state, keys, network views |
//! | [`ui`] | drawing: the layout, then one file per panel |
//! | [`history`] | bounded, downsampled histories for the charts |
//! | [`theme`] | colours for dark and light terminals |
//! | [`terminal`] | the terminal guard, input thread and UI event loop |
//! | [`summary`] | the end-of-run summary on the normal screen |
//! | [`attach`] | the dashboard away from the trainer: attach, replay, ls |

pub mod app;
pub mod attach;
pub mod history;
pub mod summary;
pub mod terminal;
pub mod theme;
pub mod ui;
