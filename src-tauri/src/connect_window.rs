//! The Human API Connect window.
//!
//! Threat model. The window shows a small page Datalinks builds (served from the
//! `hapi-connect:` scheme below) that loads Human API's Connect script from its configured
//! origin, and that script frames Human API's Connect page. That is third-party code, so the
//! window is treated as hostile:
//! - It has no Tauri capability (the only capability names the "main" window), so it cannot
//!   invoke any command or plugin. All it can do is navigate.
//! - Its results leave it only as a navigation to the reserved
//!   `https://datalinks.invalid/connect-result?kind=…&event=…` (`.invalid` never resolves).
//!   `on_navigation` intercepts it, so it never happens, and the service accepts it only for the
//!   attempt this window was opened for, before that attempt expires, up to 64 KiB, in exactly
//!   the documented shape. Script in the window can thus at worst misreport which sources are
//!   linked in the local, non-secret list (the Data API's `/sources` stays authoritative and
//!   rewrites it); an event replayed after closing or from an older window is refused.
//! - Every other navigation, top level or frame, stays on the page's own origin, the Connect
//!   script's origin and Connect's page origin; new windows are refused.
//! - The session or id token (with Connect 1.x, the public token, which gives no data access)
//!   reaches the page in the URL fragment, which is never sent in a request and which the page
//!   drops from its address at once. No IPC carries it, and the main window never sees it; the
//!   client secret and access tokens never leave Rust.
//! - Connect 1.x (the legacy flow) reports `finish` with a `sessionTokenObject`, which Rust signs
//!   with the client secret and sends to Human API. A forged object gains nothing: Human API
//!   checks its session token, and the object must name our client id.
//!
//! Why not postMessage or IPC: a message to the main window would make it trust third-party
//! script, and IPC would need a capability for this window. A navigation carries no authority
//! and is checked in one place.

use datalinks_core::{ConnectionsOverview, Error, Result, SignInTarget};
use datalinks_service::{Datalinks, CONNECT_RESULT_URL};
use std::sync::{Arc, Mutex};
use tauri::http::{header, Request, Response, StatusCode};
use tauri::webview::NewWindowResponse;
use tauri::{
    AppHandle, Manager, Runtime, UriSchemeContext, Url, WebviewUrl, WebviewWindowBuilder,
    WindowEvent,
};

pub const LABEL: &str = "human-connect";
/// The scheme the page is served from (`hapi-connect://localhost/`; on Windows
/// `http://hapi-connect.localhost/`).
pub const SCHEME: &str = "hapi-connect";
const PAGE_SCRIPT: &str = include_str!("connect_window.js");

/// What the page of the open Connect window loads. Nothing here is secret.
#[derive(Default)]
pub struct ConnectPage(Mutex<Option<PageConfig>>);

#[derive(Clone)]
struct PageConfig {
    attempt_id: String,
    script_url: Url,
    /// The origins the page may load scripts and frames from.
    origins: Vec<String>,
}

/// Serves the page and its script while a Connect window is open.
pub fn serve<R: Runtime>(
    context: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let config = context
        .app_handle()
        .state::<ConnectPage>()
        .0
        .lock()
        .unwrap()
        .clone();
    let not_found = || {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Vec::new())
            .expect("static response")
    };
    let Some(config) = config else {
        return not_found();
    };
    let (content_type, body) = match request.uri().path() {
        "/" => ("text/html; charset=utf-8", page(&config)),
        "/connect.js" => (
            "text/javascript; charset=utf-8",
            PAGE_SCRIPT.replace("__RESULT_URL__", CONNECT_RESULT_URL),
        ),
        _ => return not_found(),
    };
    let origins = config.origins.join(" ");
    let policy = format!(
        "default-src 'none'; script-src 'self' {origins}; frame-src {origins}; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
    );
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_SECURITY_POLICY, policy)
        .header(header::CACHE_CONTROL, "no-store")
        .body(body.into_bytes())
        .expect("static response")
}

fn page(config: &PageConfig) -> String {
    let script = config
        .script_url
        .as_str()
        .replace('&', "&amp;")
        .replace('"', "&quot;");
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Human API Connect</title>\
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}</style></head>\n<body>\n\
<p id=\"status\" data-testid=\"connect-page-status\">Opening Human API Connect…</p>\n\
<script src=\"{script}\"></script>\n<script src=\"/connect.js\"></script>\n</body>\n</html>\n"
    )
}

/// Closes the Connect window, if one is open (its attempt then ends).
pub fn close<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(LABEL) {
        let _ = window.close();
    }
}

/// Closes the Connect window once the service no longer accepts its results (its sign-in was
/// cancelled, or the connection it was for disconnected).
pub fn close_unless_open<R: Runtime>(app: &AppHandle<R>, service: &Datalinks) {
    let attempt = app
        .state::<ConnectPage>()
        .0
        .lock()
        .unwrap()
        .as_ref()
        .map(|page| page.attempt_id.clone());
    if attempt.is_some_and(|id| !service.hapi_connect_attempt_open(&id)) {
        close(app);
    }
}

fn page_url() -> Url {
    let raw = if cfg!(any(windows, target_os = "android")) {
        format!("http://{SCHEME}.localhost/")
    } else {
        format!("{SCHEME}://localhost/")
    };
    Url::parse(&raw).expect("constant URL")
}

fn same_place(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port() == b.port()
}

/// Opens the Connect window for a new attempt (replacing an open one) and returns the
/// connections with its sign-in in the "Connect is open" state.
pub async fn open<R: Runtime>(
    app: &AppHandle<R>,
    service: &Arc<Datalinks>,
    target: SignInTarget,
) -> Result<ConnectionsOverview> {
    if let Some(old) = app.get_webview_window(LABEL) {
        // The label is free again only once the event loop has destroyed the old window.
        let _ = old.destroy();
        for _ in 0..40 {
            if app.get_webview_window(LABEL).is_none() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    let launch = service.hapi_start_connect(target).await?;
    let attempt_id = launch.attempt_id.clone();
    let origins: Vec<String> = launch
        .allowed_origins
        .iter()
        .map(|o| o.ascii_serialization())
        .collect();
    *app.state::<ConnectPage>().0.lock().unwrap() = Some(PageConfig {
        attempt_id: attempt_id.clone(),
        script_url: launch.script_url.clone(),
        origins: origins.clone(),
    });

    let home = page_url();
    let mut url = home.clone();
    url.set_fragment(Some(&launch.page_parameters()));

    let on_result = (app.clone(), service.clone(), attempt_id.clone());
    let window = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::CustomProtocol(url))
        .title("Human API Connect")
        .inner_size(900.0, 680.0)
        .on_new_window(|_, _| NewWindowResponse::Deny)
        .on_navigation(move |target| {
            if Datalinks::is_connect_result(target) {
                let (app, service, attempt_id) = on_result.clone();
                let target = target.clone();
                tauri::async_runtime::spawn(async move {
                    let applied = service.apply_connect_result(&attempt_id, &target).await;
                    if let Err(err) = applied {
                        log::warn!("Human API Connect result refused: {}", err.code.as_str());
                    }
                    if !service.hapi_connect_attempt_open(&attempt_id) {
                        close(&app);
                    }
                });
                return false;
            }
            target.as_str() == "about:blank"
                || same_place(target, &home)
                || origins.contains(&target.origin().ascii_serialization())
        })
        .build()
        .map_err(|e| Error::internal(format!("Could not open the Connect window: {e}")))?;

    let on_close = (app.clone(), service.clone(), attempt_id);
    window.on_window_event(move |event| {
        if let WindowEvent::Destroyed = event {
            let (app, service, attempt_id) = on_close.clone();
            tauri::async_runtime::spawn(async move {
                service.hapi_connect_window_closed(&attempt_id).await;
                let state = app.state::<ConnectPage>();
                let mut page = state.0.lock().unwrap();
                if page.as_ref().is_some_and(|p| p.attempt_id == attempt_id) {
                    *page = None;
                }
            });
        }
    });
    service.list_connections().await
}
