// The app package's manifest is the root Cargo.toml, so tauri.conf.json is found at the root;
// capabilities live in src-tauri/capabilities. Declaring our commands in the app manifest makes
// Tauri generate an `allow-<command>` permission for each, so a window gets only the commands
// its capability grants (and a window with no capability gets none).
fn main() {
    let commands = &[
        "list_connections",
        "get_provider_settings",
        "save_provider_settings",
        "save_sandbox_settings",
        "start_sandbox",
        "connect",
        "cancel_connect",
        "use_loopback",
        "member_overview",
        "disconnect",
        "retry",
        "history",
        "registration_history",
        "open_receipt_link",
        "download_files",
        "cancel_downloads",
        "get_download_folder",
        "choose_download_folder",
        "choose_path",
        "open_project",
        "current_project",
        "close_project",
        "project_members",
        "project_member_files",
        "download_project_files",
        "export_project_metadata",
        "read_member_list",
        "preview_message",
        "send_message",
        "upload_to_members",
        "delete_member_files",
        "remove_members",
        "project_stats",
        "departures",
        "set_webhook_secret",
        "start_webhook_receiver",
        "stop_webhook_receiver",
        "check_webhook_delivery",
        "delete_departed_member_files",
        "delete_departed_member_local_copies",
        "mark_departure_handled",
        "oc_overview",
        "oc_memberships",
        "oc_transactions",
        "oc_expenses",
        "oc_scopes",
        "upload_file",
        "delete_files",
        "hapi_open_connect",
        "hapi_connected_sources",
        "hapi_profile",
        "hapi_sources",
        "hapi_reports",
        "hapi_save_report_pdf",
        "hapi_activities",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri-build failed");
}
