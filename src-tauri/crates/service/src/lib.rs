//! Datalinks use cases. The Tauri shell and the CLI are thin layers over this crate.

mod views;

pub use views::*;
