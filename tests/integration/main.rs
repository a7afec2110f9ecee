//! The integration tests, in one binary: eleven binaries linked tagtrain and burn eleven times
//! and instantiated the same generics in each (issue #31, the suite's cold time). Two stay
//! their own: `memory_bounds` (a counting global allocator for the whole process) and
//! `module_graph` (reads the source, links nothing).
//!
//! One file a subject; run one with a filter, e.g.
//! `cargo test --release --test integration -- hostile_models`.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod data_ingest;
mod data_parallel;
mod data_pipeline;
mod data_properties;
mod edits;
mod evaluation_views;
mod folders;
mod hostile_models;
mod label_errors;
mod lr_find;
mod metrics_sklearn;
mod model_shapes;
mod photo_zoo;
mod pretrained;
mod streaming;
mod training;
