//! The till app's entry point.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]
fn main() {
    trestle_app::run();
}
