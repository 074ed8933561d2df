//! The deauthorization webhook, sent as Open Humans sends it (`DataRequestProjectMember.
//! deauth_webhook`): when a member leaves or the project removes them, one POST of
//! `json.dumps(payload)` (Python's `", "` and `": "` separators), signed with
//! `X-OpenHumans-Webhooks-Signature: sha1=<hex HMAC-SHA1>` when the project has a secret; after a
//! non-2xx answer or a failure, one more POST, unsigned, whose JSON body is the first body as a
//! JSON string (`requests.post(url, json=<the string>)`).
//!
//! Today's Open Humans very likely sends nothing for a departure without an erasure request (its
//! `arrow.get(None)` raises), so that is what the sandbox does unless
//! [`WebhookSettings::send_without_erasure`] is set.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;

use crate::state::Sandbox;
use crate::text::python_isoformat;

/// What the project owner set on the project's page.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// `deauth_webhook`: where notifications go; none are sent without it.
    #[serde(default)]
    pub url: Option<String>,
    /// `webhook_secret`, 16 to 64 ASCII characters; unsigned notifications without it.
    #[serde(default)]
    pub secret: Option<String>,
    /// Send a notification for a departure without an erasure request, as Open Humans did before
    /// its `arrow` upgrade. Off by default, like today's Open Humans.
    #[serde(default)]
    pub send_without_erasure: bool,
}

/// One POST the sandbox made, for tests to inspect.
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    pub project_member_id: String,
    /// 1 for the signed notification, 2 for the unsigned retry.
    pub attempt: u8,
    pub signed: bool,
    pub body: String,
    /// The receiver's answer, when there was one.
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// How long a receiver may take; Open Humans sets no limit, the sandbox must not hang.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha1={hex}")
}

/// The payload in `json.dumps` form.
fn payload(project_member_id: &str, erasure_requested: bool, timestamp: &str) -> String {
    let text = |value: &str| serde_json::to_string(value).expect("a string serializes");
    format!(
        "{{\"project_member_id\": {}, \"erasure_requested\": {}, \"timestamp\": {}}}",
        text(project_member_id),
        erasure_requested,
        text(timestamp)
    )
}

/// The member leaves the project (`leave_project`), with the leave page's two boxes: their tokens
/// go, the files the project uploaded go too when `remove_datafiles`, and the webhook is sent.
pub async fn leave_project(
    sandbox: &Sandbox,
    member: usize,
    erasure_requested: bool,
    remove_datafiles: bool,
) {
    {
        let mut store = sandbox.store();
        store.deauthorize(member);
        if remove_datafiles {
            store.project_files.retain(|_, file| file.member != member);
        }
    }
    let project_member_id = &sandbox.world.members[member].project_member_id;
    notify_departure(sandbox, project_member_id, erasure_requested).await;
}

/// Sends the notification for a member who just left, when the project has a webhook. Called
/// while the leave request is answered, as Open Humans does.
pub async fn notify_departure(sandbox: &Sandbox, project_member_id: &str, erasure_requested: bool) {
    let settings = sandbox.store().webhook.clone();
    let Some(url) = settings.url else { return };
    if !erasure_requested && !settings.send_without_erasure {
        return;
    }
    let body = payload(
        project_member_id,
        erasure_requested,
        &python_isoformat(SystemTime::now()),
    );
    let client = reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a plain client builds");
    let mut first = client
        .post(&url)
        .header("Content-Type", "application/json")
        .body(body.clone());
    if let Some(secret) = &settings.secret {
        first = first.header(
            "X-OpenHumans-Webhooks-Signature",
            signature(secret, body.as_bytes()),
        );
    }
    let answered = deliver(
        sandbox,
        first,
        project_member_id,
        1,
        settings.secret.is_some(),
        &body,
    )
    .await;
    if answered {
        return;
    }
    let double_encoded = serde_json::to_string(&body).expect("a string serializes");
    let retry = client
        .post(&url)
        .header("Content-Type", "application/json")
        .body(double_encoded.clone());
    deliver(sandbox, retry, project_member_id, 2, false, &double_encoded).await;
}

/// Sends one POST and records it; whether the receiver answered 2xx.
async fn deliver(
    sandbox: &Sandbox,
    request: reqwest::RequestBuilder,
    project_member_id: &str,
    attempt: u8,
    signed: bool,
    body: &str,
) -> bool {
    let (status, error) = match request.send().await {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(err) => (None, Some(err.to_string())),
    };
    sandbox.store().webhook_deliveries.push(Delivery {
        project_member_id: project_member_id.to_owned(),
        attempt,
        signed,
        body: body.to_owned(),
        status,
        error,
    });
    status.is_some_and(|status| (200..300).contains(&status))
}

/// `GET /_sandbox/webhook`: the project's webhook settings.
pub async fn settings(State(sandbox): State<Arc<Sandbox>>) -> Json<WebhookSettings> {
    Json(sandbox.store().webhook.clone())
}

/// `POST /_sandbox/webhook` with a JSON [`WebhookSettings`]: what the owner sets on the
/// project's page, checked as Open Humans' form checks it.
pub async fn set_settings(
    State(sandbox): State<Arc<Sandbox>>,
    Json(settings): Json<WebhookSettings>,
) -> Response {
    if let Some(url) = &settings.url {
        let scheme_ok =
            url::Url::parse(url).is_ok_and(|parsed| matches!(parsed.scheme(), "http" | "https"));
        if !scheme_ok {
            return (StatusCode::BAD_REQUEST, "url must be an http or https URL").into_response();
        }
    }
    if let Some(secret) = &settings.secret {
        if !(16..=64).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return (
                StatusCode::BAD_REQUEST,
                "secret must be 16 to 64 ASCII characters",
            )
                .into_response();
        }
    }
    sandbox.store().webhook = settings.clone();
    Json(settings).into_response()
}

/// `GET /_sandbox/webhook-deliveries`: every POST sent, oldest first.
pub async fn deliveries(State(sandbox): State<Arc<Sandbox>>) -> Json<Vec<Delivery>> {
    Json(sandbox.store().webhook_deliveries.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_and_signature_match_open_humans_worked_example() {
        let body = payload("12345678", true, "2020-06-30T20:00:00.000000+00:00");
        assert_eq!(
            body,
            r#"{"project_member_id": "12345678", "erasure_requested": true, "timestamp": "2020-06-30T20:00:00.000000+00:00"}"#
        );
        assert_eq!(
            signature("abcdefghijklmnop", body.as_bytes()),
            "sha1=ebda5c0a38593a4350ad8401b7d8c8f1cd08ec67"
        );
    }
}
