//! The Datalinks desktop app: a thin Tauri shell over `datalinks-service`.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod connect_window;
mod dialogs;
mod host;

use datalinks_service::Datalinks;
use datalinks_vault::KeyringStore;
use std::sync::Arc;
use tauri::Manager;
use tauri_plugin_deep_link::DeepLinkExt;

fn main() {
    tauri::Builder::default()
        // First, so a second launch (e.g. the OS opening a datalinks:// link) hands its
        // arguments to this instance and exits; with the deep-link feature the URL then
        // reaches `on_open_url` below.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            host::report_stray_arguments(app, &argv);
            host::focus_main_window(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(
            tauri_plugin_log::Builder::new()
                .level(log::LevelFilter::Info)
                // D-Bus and HTTP internals log message bytes and URLs at info/debug; keep
                // them out of the log file.
                .level_for("zbus", log::LevelFilter::Warn)
                .level_for("tracing", log::LevelFilter::Warn)
                .level_for("reqwest", log::LevelFilter::Warn)
                .level_for("hyper", log::LevelFilter::Warn)
                .targets([
                    tauri_plugin_log::Target::new(tauri_plugin_log::TargetKind::LogDir {
                        file_name: None,
                    }),
                    tauri_plugin_log::Target::new(tauri_plugin_log::TargetKind::Stdout),
                ])
                .build(),
        )
        // The Human API Connect window's page; that window has no capability (connect_window.rs).
        .manage(connect_window::ConnectPage::default())
        .manage(datalinks_service::Picks::default())
        .manage(dialogs::DialogOpen::default())
        .register_uri_scheme_protocol(connect_window::SCHEME, connect_window::serve)
        .setup(|app| {
            let data_dir = app.path().app_data_dir()?;
            let host = Arc::new(host::TauriHost::new(app.handle().clone()));
            let service = Datalinks::open(&data_dir, Arc::new(KeyringStore::new()), host)?;
            app.manage(service.clone());

            // Registration needs xdg-utils; a failure must not stop the app (docs/platform.md,
            // "Deep links on Linux").
            if let Err(err) = app.deep_link().register_all() {
                log::warn!("could not register the datalinks:// scheme: {err}");
            }
            let on_link = service.clone();
            app.deep_link().on_open_url(move |event| {
                for url in event.urls() {
                    let service = on_link.clone();
                    tauri::async_runtime::spawn(async move {
                        service.handle_deep_link(url.as_str()).await
                    });
                }
            });
            // A cold start by a deep link does not fire on_open_url.
            if let Ok(Some(urls)) = app.deep_link().get_current() {
                for url in urls {
                    let service = service.clone();
                    tauri::async_runtime::spawn(async move {
                        service.handle_deep_link(url.as_str()).await
                    });
                }
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::connections::list_connections,
            commands::connections::connect,
            commands::connections::cancel_connect,
            commands::connections::use_loopback,
            commands::connections::retry,
            commands::connections::disconnect,
            commands::connections::history,
            commands::connections::registration_history,
            commands::connections::hapi_open_connect,
            commands::connections::open_receipt_link,
            commands::settings::get_provider_settings,
            commands::settings::save_provider_settings,
            commands::settings::save_sandbox_settings,
            commands::settings::start_sandbox,
            commands::member::member_overview,
            commands::files::download_files,
            commands::files::cancel_downloads,
            commands::files::get_download_folder,
            commands::files::choose_download_folder,
            commands::files::choose_path,
            commands::project::open_project,
            commands::project::open_sandbox_project,
            commands::project::current_project,
            commands::project::close_project,
            commands::project::project_members,
            commands::project::project_member_files,
            commands::project::download_project_files,
            commands::project::export_project_metadata,
            commands::project::read_member_list,
            commands::project::preview_message,
            commands::project::send_message,
            commands::project::upload_to_members,
            commands::project::delete_member_files,
            commands::project::remove_members,
            commands::project::project_stats,
            commands::project::project_checklist,
            commands::project::tick_checklist_step,
            commands::departures::departures,
            commands::departures::set_webhook_secret,
            commands::departures::start_webhook_receiver,
            commands::departures::stop_webhook_receiver,
            commands::departures::check_webhook_delivery,
            commands::departures::delete_departed_member_files,
            commands::departures::delete_departed_member_local_copies,
            commands::departures::mark_departure_handled,
            commands::opencollective::oc_overview,
            commands::opencollective::oc_memberships,
            commands::opencollective::oc_transactions,
            commands::opencollective::oc_expenses,
            commands::opencollective::oc_scopes,
            commands::files::upload_file,
            commands::files::delete_files,
            commands::humanapi::hapi_connected_sources,
            commands::humanapi::hapi_profile,
            commands::humanapi::hapi_sources,
            commands::humanapi::hapi_reports,
            commands::humanapi::hapi_save_report_pdf,
            commands::ledger::consent_ledger,
            commands::ledger::delete_local_copies,
            commands::ledger::audit_log,
            commands::ledger::audit_facets,
            commands::ledger::export_audit_csv,
            commands::humanapi::hapi_activities,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Datalinks");
}
