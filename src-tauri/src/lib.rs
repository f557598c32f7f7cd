//! Sitedrop's desktop shell: a thin Tauri layer over sitedrop-core.

pub fn run() {
    tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|_app, _args, _cwd| {}))
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_notification::init())
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("Sitedrop could not start: {e}");
            std::process::exit(1);
        });
}
