//! Tauri's build step: the app's context (tauri.conf.json at the root) and its capabilities.
fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*"),
    )
    .expect("the Tauri build step failed");
}
