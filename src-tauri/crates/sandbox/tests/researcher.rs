//! The researcher's side of the direct-sharing API against docs/providers/open-humans.md (master
//! token, members list, messaging, removal, uploads, deletion), plus Range downloads, the fault
//! knobs and sized worlds.

mod common;

use std::time::{Duration, Instant};

use common::*;
use datalinks_sandbox::{
    BodyFault, Faults, SandboxConfig, DELETE_FILES_PATH, DIRECT_UPLOAD_PATH, MEMBERS_PATH,
    MESSAGE_PATH, REMOVE_MEMBERS_PATH, UPLOAD_COMPLETE_PATH, UPLOAD_PATH,
};
use md5::{Digest, Md5};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

fn small_world(member_count: usize) -> SandboxConfig {
    SandboxConfig {
        member_count,
        files_per_member: 12,
        ..SandboxConfig::default()
    }
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The project member ids of members that have joined (all but alice, until she consents).
async fn joined_member_ids(sandbox: &datalinks_sandbox::RunningSandbox) -> Vec<String> {
    let master = sandbox.master_access_token();
    let list = json(
        plain_client()
            .get(with_token(api_url(sandbox, MEMBERS_PATH), &master))
            .send()
            .await
            .unwrap(),
    )
    .await;
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member["project_member_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn master_token_authenticates_expires_and_refreshes() {
    let sandbox = start(small_world(3)).await;
    let master = sandbox.master_access_token();
    assert_eq!(master.len(), 64);
    assert!(master.chars().all(|c| c.is_ascii_alphanumeric()));
    let expires_in = sandbox
        .master_token_expires_at()
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(
        expires_in > Duration::from_secs(24 * 3600 - 60)
            && expires_in <= Duration::from_secs(24 * 3600)
    );

    let project = get_with_token(project_url(&sandbox), &master).await;
    assert_eq!(project.status(), StatusCode::OK);
    assert_eq!(json(project).await["type"], "oauth2");

    sandbox.expire_master_token();
    let body = unauthorized(get_with_token(project_url(&sandbox), &master).await).await;
    assert_eq!(body, json!({"detail": "Expired token."}));

    let refreshed = sandbox.refresh_master_token();
    assert_ne!(refreshed, master);
    assert_eq!(refreshed.len(), 64);
    let body = unauthorized(get_with_token(project_url(&sandbox), &master).await).await;
    assert_eq!(body, json!({"detail": "Invalid token."}));
    assert_eq!(
        get_with_token(project_url(&sandbox), &refreshed)
            .await
            .status(),
        StatusCode::OK
    );

    // The same knobs for out-of-process tests.
    let client = plain_client();
    let admin = |path: &str| api_url(&sandbox, path);
    let shown = json(
        client
            .get(admin("/_sandbox/master-token"))
            .header(datalinks_sandbox::ADMIN_KEY_HEADER, sandbox.admin_key())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(shown["master_access_token"], refreshed.as_str());
    client
        .post(admin("/_sandbox/expire-master-token"))
        .header(datalinks_sandbox::ADMIN_KEY_HEADER, sandbox.admin_key())
        .send()
        .await
        .unwrap();
    let body = unauthorized(get_with_token(project_url(&sandbox), &refreshed).await).await;
    assert_eq!(body, json!({"detail": "Expired token."}));
    let again = json(
        client
            .post(admin("/_sandbox/refresh-master-token"))
            .header(datalinks_sandbox::ADMIN_KEY_HEADER, sandbox.admin_key())
            .send()
            .await
            .unwrap(),
    )
    .await;
    let newest = again["master_access_token"].as_str().unwrap();
    assert_eq!(newest, sandbox.master_access_token());
    assert_eq!(
        get_with_token(project_url(&sandbox), newest).await.status(),
        StatusCode::OK
    );

    let short_lived = start(SandboxConfig {
        master_token_lifetime: Duration::ZERO,
        ..small_world(1)
    })
    .await;
    let body = unauthorized(
        get_with_token(
            project_url(&short_lived),
            &short_lived.master_access_token(),
        )
        .await,
    )
    .await;
    assert_eq!(body, json!({"detail": "Expired token."}));
}

#[tokio::test]
async fn members_list_shape_pagination_and_header_only_500() {
    let sandbox = start(small_world(25)).await;
    let master = sandbox.master_access_token();
    let client = plain_client();
    let mut url = with_token(api_url(&sandbox, MEMBERS_PATH), &master);
    url.query_pairs_mut().append_pair("limit", "10");
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let raw = response.text().await.unwrap();
    let page: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(page["count"], 24, "alice has not joined yet");
    assert_eq!(page["previous"], Value::Null);
    let base = sandbox
        .base_url()
        .as_str()
        .trim_end_matches('/')
        .to_string();
    assert_eq!(
        page["next"],
        format!("{base}{MEMBERS_PATH}?access_token={master}&limit=10&offset=10").as_str()
    );
    let results = page["results"].as_array().unwrap();
    assert_eq!(results.len(), 10);
    let first = &results[0];
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "created",
        "data",
        "exchange_member",
        "file_count",
        "project_member_id",
        "sources_shared",
        "username",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    let member_start = raw.find("\"created\"").unwrap();
    let in_order = [
        "\"project_member_id\"",
        "\"file_count\"",
        "\"exchange_member\"",
        "\"sources_shared\"",
        "\"username\"",
        "\"data\"",
    ]
    .iter()
    .map(|key| raw[member_start..].find(key).unwrap())
    .collect::<Vec<_>>();
    assert!(
        in_order.windows(2).all(|pair| pair[0] < pair[1]),
        "{in_order:?}"
    );
    assert_eq!(first["file_count"], 12);
    assert_eq!(
        first["data"].as_array().unwrap().len(),
        10,
        "the first 10 files only"
    );
    let id = first["project_member_id"].as_str().unwrap();
    let exchange = first["exchange_member"].as_str().unwrap();
    assert_eq!(
        exchange,
        format!("{base}/api/direct-sharing/project/exchange-member/?project_member_id={id}&access_token={master}")
    );
    let member = json(client.get(exchange).send().await.unwrap()).await;
    assert_eq!(member["count"], 12);
    assert_eq!(member["data"][0]["id"], first["data"][0]["id"]);

    let last = json(
        client
            .get(
                page["next"]
                    .as_str()
                    .unwrap()
                    .replace("offset=10", "offset=20"),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(last["results"].as_array().unwrap().len(), 4);
    assert_eq!(last["next"], Value::Null);

    // The token in the header only: the serializer's KeyError.
    let header_only = get_with_token(api_url(&sandbox, MEMBERS_PATH), &master).await;
    assert_eq!(header_only.status(), StatusCode::INTERNAL_SERVER_ERROR);
    // …unless there is nobody to serialize.
    let mut beyond = api_url(&sandbox, MEMBERS_PATH);
    beyond.set_query(Some("offset=500"));
    let empty = get_with_token(beyond, &master).await;
    assert_eq!(empty.status(), StatusCode::OK);
    assert_eq!(json(empty).await["results"], json!([]));

    // A member's OAuth2 token is not a master token.
    let tokens = connect(&sandbox).await;
    let refused = plain_client()
        .get(with_token(
            api_url(&sandbox, MEMBERS_PATH),
            &tokens.access_token,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unauthorized(refused).await,
        json!({"detail": "Invalid token."})
    );
    let after_join = json(
        client
            .get(with_token(api_url(&sandbox, MEMBERS_PATH), &master))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(after_join["count"], 25);
}

#[tokio::test]
async fn exchange_member_with_master_token_needs_a_valid_member_id() {
    let sandbox = start(small_world(2)).await;
    let master = sandbox.master_access_token();
    let url = with_token(exchange_member_url(&sandbox), &master);
    let missing = plain_client().get(url.clone()).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let mut invalid = url.clone();
    invalid
        .query_pairs_mut()
        .append_pair("project_member_id", "99999999");
    let body = bad_request(plain_client().get(invalid).send().await.unwrap()).await;
    assert_eq!(
        body,
        json!({"project_member_id": "project_member_id is invalid"})
    );
    let mut valid = url;
    valid.query_pairs_mut().append_pair(
        "project_member_id",
        &sandbox.project_member_id("member00002").unwrap(),
    );
    let page = json(plain_client().get(valid).send().await.unwrap()).await;
    assert_eq!(page["username"], "member00002");
    assert_eq!(page["count"], 12);
}

#[tokio::test]
async fn messages_are_sent_to_the_named_or_all_members() {
    let sandbox = start(small_world(4)).await;
    let master = sandbox.master_access_token();
    let ids = joined_member_ids(&sandbox).await;
    let url = api_url(&sandbox, MESSAGE_PATH);

    let response = post_json(
        url.clone(),
        &master,
        &json!({"subject": "Hello", "message": "Your id: {{ PROJECT_MEMBER_ID }}.", "project_member_ids": [ids[0], ids[1]]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "\"success\"");
    let sent = sandbox.messages();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].project_member_id, ids[0]);
    assert_eq!(sent[0].subject, "[Open Humans Project Message] Hello");
    assert_eq!(sent[0].body, format!("Your id: {}.", ids[0]));
    assert_eq!(sent[1].body, format!("Your id: {}.", ids[1]));
    assert_eq!(
        sent[0].from,
        "Datalinks Sandbox Project <support@openhumans.org>"
    );

    let response = post_json(
        url.clone(),
        &master,
        &json!({"message": "All", "all_members": true}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let sent = sandbox.messages();
    assert_eq!(sent.len(), 2 + 3, "alice has not joined");
    assert_eq!(
        sent[2].subject,
        "[Open Humans Project Message] From \"Datalinks Sandbox Project\""
    );
    assert_eq!(sandbox.stats().messages_sent, 5);
    let recorded = json(
        plain_client()
            .get(api_url(&sandbox, "/_sandbox/messages"))
            .header(datalinks_sandbox::ADMIN_KEY_HEADER, sandbox.admin_key())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(recorded.as_array().unwrap().len(), 5);
    assert_eq!(recorded[0]["project_member_id"], ids[0].as_str());
}

#[tokio::test]
async fn message_errors_are_wrapped_and_form_lists_keep_the_last_value() {
    let sandbox = start(small_world(4)).await;
    let master = sandbox.master_access_token();
    let ids = joined_member_ids(&sandbox).await;
    let url = api_url(&sandbox, MESSAGE_PATH);
    let errors = |body: Value| {
        let url = url.clone();
        let master = master.clone();
        async move { bad_request(post_json(url, &master, &body).await).await }
    };

    assert_eq!(
        errors(json!({"message": "m"})).await,
        json!({"errors": {"__all__": ["You must specify either all members or provide a list of IDs."]}})
    );
    assert_eq!(
        errors(json!({"message": "m", "all_members": true, "project_member_ids": [ids[0]]})).await,
        json!({"errors": {"__all__": ["You must specify either all members or provide a list of IDs but not both."]}})
    );
    assert_eq!(
        errors(json!({"message": "m", "project_member_ids": ["123"]})).await,
        json!({"errors": {"project_member_ids": ["Project member IDs are always 8 digits long."]}})
    );
    let unknown = if ids.contains(&"00000000".to_string()) {
        "00000001"
    } else {
        "00000000"
    };
    assert_eq!(
        errors(json!({"message": "m", "project_member_ids": format!("{}, {unknown}", ids[0])}))
            .await,
        json!({"errors": {"project_member_ids": [format!("Invalid project member ID(s): {unknown}")]}})
    );
    assert_eq!(
        errors(json!({"project_member_ids": [ids[0]]})).await,
        json!({"errors": {"message": ["This field is required."]}})
    );
    assert!(sandbox.messages().is_empty());

    // Repeated form keys pass only the last value (docs/providers/open-humans.md, "Messages").
    let response = post_form(
        url.clone(),
        &master,
        &[
            ("message", "m"),
            ("project_member_ids", &ids[0]),
            ("project_member_ids", &ids[1]),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let sent = sandbox.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].project_member_id, ids[1]);

    // A member's own token messages only that member, whatever the body says.
    let tokens = connect(&sandbox).await;
    let response = post_json(
        url,
        &tokens.access_token,
        &json!({"message": "to me", "all_members": true, "project_member_ids": [ids[2]]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let last = sandbox.messages().pop().unwrap();
    assert_eq!(last.username, "alice");
    assert_eq!(sandbox.messages().len(), 2);
}

#[tokio::test]
async fn removed_members_lose_their_tokens_and_leave_the_list() {
    let sandbox = start(small_world(3)).await;
    let master = sandbox.master_access_token();
    let tokens = connect(&sandbox).await;
    let alice = sandbox.project_member_id("alice").unwrap();
    let url = api_url(&sandbox, REMOVE_MEMBERS_PATH);

    assert_eq!(
        bad_request(post_json(url.clone(), &master, &json!({})).await).await,
        json!({"errors": {"__all__": ["You must provide a list of project member IDs."]}})
    );
    let response = post_json(
        url.clone(),
        &master,
        &json!({"project_member_ids": [alice]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await, json!("success"));
    let removed = sandbox.removed_members();
    assert_eq!(removed.len(), 1);
    assert_eq!(
        (removed[0].username.as_str(), removed[0].done_by.as_str()),
        ("alice", "project-coordinator")
    );
    assert!(!sandbox.membership("alice").unwrap().authorized);
    let body =
        unauthorized(get_with_token(exchange_member_url(&sandbox), &tokens.access_token).await)
            .await;
    assert_eq!(body, json!({"detail": "Invalid token."}));
    assert_eq!(
        refresh_request(&sandbox, &tokens.refresh_token)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert!(!joined_member_ids(&sandbox).await.contains(&alice));
    // No longer an active member: invalid for another removal.
    assert_eq!(
        bad_request(
            post_json(
                url.clone(),
                &master,
                &json!({"project_member_ids": [alice]})
            )
            .await
        )
        .await,
        json!({"errors": {"project_member_ids": [format!("Invalid project member ID(s): {alice}")]}})
    );

    // With a member's token, the member removes themself only.
    let tokens = connect(&sandbox).await;
    let other = sandbox.project_member_id("member00002").unwrap();
    let response = post_json(
        url,
        &tokens.access_token,
        &json!({"project_member_ids": [other]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(sandbox.membership("member00002").unwrap().authorized);
    assert!(!sandbox.membership("alice").unwrap().authorized);
    let recorded = json(
        plain_client()
            .get(api_url(&sandbox, "/_sandbox/removed-members"))
            .header(datalinks_sandbox::ADMIN_KEY_HEADER, sandbox.admin_key())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(recorded.as_array().unwrap().len(), 2);
    assert_eq!(sandbox.stats().members_removed, 2);
}

/// Step 1 of the direct upload, form-encoded as ohapi sends it.
async fn start_direct_upload(
    sandbox: &datalinks_sandbox::RunningSandbox,
    token: &str,
    member_id: &str,
    filename: &str,
    metadata: &str,
) -> Response {
    post_form(
        api_url(sandbox, DIRECT_UPLOAD_PATH),
        token,
        &[
            ("project_member_id", member_id),
            ("filename", filename),
            ("metadata", metadata),
        ],
    )
    .await
}

async fn complete(
    sandbox: &datalinks_sandbox::RunningSandbox,
    token: &str,
    member_id: &str,
    file_id: &str,
) -> Response {
    post_form(
        api_url(sandbox, UPLOAD_COMPLETE_PATH),
        token,
        &[("project_member_id", member_id), ("file_id", file_id)],
    )
    .await
}

const METADATA: &str = r#"{"description": "Steps export", "tags": ["steps"], "md5": "0123456789abcdef0123456789abcdef"}"#;

#[tokio::test]
async fn direct_upload_in_three_steps_makes_a_real_member_file() {
    let sandbox = start(small_world(2)).await;
    let master = sandbox.master_access_token();
    let member = sandbox.project_member_id("member00002").unwrap();
    let project_label = format!(
        "direct-sharing-{}",
        json(get_with_token(project_url(&sandbox), &master).await).await["id"]
    );

    let created = start_direct_upload(&sandbox, &master, &member, "steps.csv", METADATA).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = json(created).await;
    let id = created["id"].as_u64().unwrap();
    let put_url = created["url"].as_str().unwrap().to_string();
    assert!(
        put_url.contains(&format!("/member-files/{project_label}/")),
        "{put_url}"
    );
    assert!(put_url.contains("/steps.csv?"), "{put_url}");

    let exchange = |token: String| {
        let mut url = with_token(exchange_member_url(&sandbox), &token);
        url.query_pairs_mut()
            .append_pair("project_member_id", &member);
        async move { json(plain_client().get(url).send().await.unwrap()).await }
    };
    assert_eq!(
        exchange(master.clone()).await["count"],
        12,
        "hidden until completed"
    );
    assert_eq!(
        bad_request(complete(&sandbox, &master, &member, &id.to_string()).await).await,
        json!({"detail": "file not present"})
    );

    let bytes = b"date,steps\n2024-01-01,9001\n".to_vec();
    let with_type = plain_client()
        .put(&put_url)
        .header("content-type", "text/csv")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(with_type.status(), StatusCode::FORBIDDEN);
    assert!(with_type
        .text()
        .await
        .unwrap()
        .contains("SignatureDoesNotMatch"));
    let put = plain_client()
        .put(&put_url)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(
        put.headers()["etag"],
        format!("\"{}\"", md5_hex(&bytes)).as_str()
    );

    let done = complete(&sandbox, &master, &member, &id.to_string()).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(
        json(done).await,
        json!({"status": "ok", "size": bytes.len()})
    );
    assert_eq!(
        bad_request(complete(&sandbox, &master, &member, "").await).await,
        json!({"detail": "file does not exist"})
    );
    let unknown = complete(&sandbox, &master, &member, "999999999").await;
    assert_eq!(unknown.status(), StatusCode::INTERNAL_SERVER_ERROR);

    let page = exchange(master.clone()).await;
    assert_eq!(page["count"], 13);
    let file = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["id"] == id)
        .expect("the upload is listed");
    assert_eq!(file["basename"], "steps.csv");
    assert_eq!(file["source"], project_label.as_str());
    assert_eq!(
        file["metadata"],
        serde_json::from_str::<Value>(METADATA).unwrap()
    );
    assert_eq!(file["datatypes"], json!([]));
    assert_eq!(
        download(file["download_url"].as_str().unwrap()).await,
        bytes
    );

    let list = json(
        plain_client()
            .get(with_token(api_url(&sandbox, MEMBERS_PATH), &master))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let listed = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["project_member_id"] == member.as_str())
        .unwrap();
    assert_eq!(listed["file_count"], 13);
    let stats = sandbox.stats();
    assert_eq!((stats.uploads_started, stats.uploads_completed), (1, 1));
}

#[tokio::test]
async fn a_members_token_uploads_for_that_member_only() {
    let sandbox = start(small_world(2)).await;
    let tokens = connect(&sandbox).await;
    let other = sandbox.project_member_id("member00002").unwrap();
    let created = json(
        start_direct_upload(&sandbox, &tokens.access_token, &other, "mine.txt", METADATA).await,
    )
    .await;
    let put_url = created["url"].as_str().unwrap();
    plain_client()
        .put(put_url)
        .body("mine")
        .send()
        .await
        .unwrap();
    let done = complete(
        &sandbox,
        &tokens.access_token,
        &other,
        &created["id"].to_string(),
    )
    .await;
    assert_eq!(done.status(), StatusCode::OK);
    let page = get_json_with_token(exchange_member_url(&sandbox), &tokens.access_token).await;
    assert_eq!(
        page["count"], 13,
        "the file went to alice, the token's member"
    );
}

#[tokio::test]
async fn upload_form_and_metadata_errors() {
    let sandbox = start(small_world(2)).await;
    let master = sandbox.master_access_token();
    let member = sandbox.project_member_id("member00002").unwrap();
    let error = |response: Response| bad_request(response);

    let cases = [
        (
            r#"{"tags": []}"#,
            "\"description\" is a required field of the metadata",
        ),
        (
            r#"{"description": "d"}"#,
            "\"tags\" is a required field of the metadata",
        ),
        (
            r#"{"description": 5, "tags": []}"#,
            "\"description\" must be a string",
        ),
        (
            r#"{"description": "d", "tags": "x"}"#,
            "\"tags\" must be an array of strings",
        ),
        (
            r#"{"description": "d", "tags": [], "creation_date": "last week"}"#,
            "Dates must be in ISO 8601 format",
        ),
        (
            r#"{"description": "d", "tags": [], "md5": "nope"}"#,
            "Invalid MD5 specified",
        ),
        ("not json", "could not parse the uploaded metadata"),
    ];
    for (metadata, message) in cases {
        let body =
            error(start_direct_upload(&sandbox, &master, &member, "f.txt", metadata).await).await;
        assert_eq!(body, json!({"metadata": [message]}), "{metadata}");
    }
    // A nested object in a JSON body reaches the form as a Python repr
    // (docs/providers/open-humans.md, "Direct upload").
    let nested = post_json(
        api_url(&sandbox, DIRECT_UPLOAD_PATH),
        &master,
        &json!({"project_member_id": member, "filename": "f.txt", "metadata": {"description": "d", "tags": []}}),
    )
    .await;
    assert_eq!(
        error(nested).await,
        json!({"metadata": ["could not parse the uploaded metadata"]})
    );
    let as_string = post_json(
        api_url(&sandbox, DIRECT_UPLOAD_PATH),
        &master,
        &json!({"project_member_id": member, "filename": "f.txt", "metadata": METADATA}),
    )
    .await;
    assert_eq!(as_string.status(), StatusCode::CREATED);

    let missing = post_form(
        api_url(&sandbox, DIRECT_UPLOAD_PATH),
        &master,
        &[("project_member_id", &member)],
    )
    .await;
    assert_eq!(
        error(missing).await,
        json!({"metadata": ["This field is required."], "filename": ["This field is required."]})
    );
    let stranger =
        error(start_direct_upload(&sandbox, &master, "12345678", "f.txt", METADATA).await).await;
    assert_eq!(
        stranger,
        json!({"project_member_id": "project_member_id is invalid"})
    );
    let not_joined = sandbox.project_member_id("alice").unwrap();
    let body =
        error(start_direct_upload(&sandbox, &master, &not_joined, "f.txt", METADATA).await).await;
    assert_eq!(
        body,
        json!({"project_member_id": "project_member_id is invalid"})
    );
}

async fn simple_upload(
    sandbox: &datalinks_sandbox::RunningSandbox,
    token: &str,
    member: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> Response {
    let form = reqwest::multipart::Form::new()
        .text("project_member_id", member.to_string())
        .text("metadata", METADATA)
        .part(
            "data_file",
            reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string()),
        );
    plain_client()
        .post(api_url(sandbox, UPLOAD_PATH))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn simple_multipart_upload_completes_at_once() {
    let sandbox = start(small_world(2)).await;
    let master = sandbox.master_access_token();
    let member = sandbox.project_member_id("member00002").unwrap();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let response = simple_upload(&sandbox, &master, &member, "raw data.bin", bytes.clone()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = json(response).await;
    let id = body["id"].as_u64().unwrap();
    assert_eq!(body.as_object().unwrap().len(), 1);
    let mut url = with_token(exchange_member_url(&sandbox), &master);
    url.query_pairs_mut()
        .append_pair("project_member_id", &member);
    let page = json(plain_client().get(url).send().await.unwrap()).await;
    let file = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(
        file["basename"], "raw_data.bin",
        "Django's storage cleans the name"
    );
    assert_eq!(
        download(file["download_url"].as_str().unwrap()).await,
        bytes
    );

    let no_file = plain_client()
        .post(api_url(&sandbox, UPLOAD_PATH))
        .bearer_auth(&master)
        .multipart(
            reqwest::multipart::Form::new()
                .text("project_member_id", member.clone())
                .text("metadata", METADATA),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        bad_request(no_file).await,
        json!({"data_file": ["This field is required."]})
    );
}

#[tokio::test]
async fn delete_by_id_basename_or_all() {
    let sandbox = start(small_world(2)).await;
    let master = sandbox.master_access_token();
    let member = sandbox.project_member_id("member00002").unwrap();
    let mut ids = Vec::new();
    for name in ["a.txt", "a.txt", "b.txt", "c.txt"] {
        let body = json(simple_upload(&sandbox, &master, &member, name, b"x".to_vec()).await).await;
        ids.push(body["id"].as_u64().unwrap());
    }
    let url = api_url(&sandbox, DELETE_FILES_PATH);
    let delete = |form: Vec<(&'static str, String)>| {
        let url = url.clone();
        let master = master.clone();
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(url, &master, &pairs).await
        }
    };
    let pm = || ("project_member_id", member.clone());

    assert_eq!(
        bad_request(delete(vec![pm()]).await).await,
        json!({"missing_field": "one of file_id, file_basename, or all_files is required"})
    );
    assert_eq!(
        bad_request(
            delete(vec![
                pm(),
                ("file_id", ids[0].to_string()),
                ("all_files", "true".into())
            ])
            .await
        )
        .await,
        json!({"too_many": "one of file_id, file_basename, or all_files is required"})
    );
    assert_eq!(
        bad_request(
            delete(vec![
                ("project_member_id", "87654321".into()),
                ("all_files", "true".into())
            ])
            .await
        )
        .await,
        json!({"project_member_id": "project_member_id is invalid"})
    );
    assert_eq!(
        bad_request(delete(vec![pm(), ("file_id", "two".into())]).await).await,
        json!({"file_id": ["Enter a whole number."]})
    );

    let deleted = json(delete(vec![pm(), ("file_basename", "a.txt".into())]).await).await;
    assert_eq!(deleted, json!({"ids": [ids[0], ids[1]]}));
    let deleted = json(delete(vec![pm(), ("file_id", ids[2].to_string())]).await).await;
    assert_eq!(deleted, json!({"ids": [ids[2]]}));
    let again = json(delete(vec![pm(), ("file_id", ids[2].to_string())]).await).await;
    assert_eq!(again, json!({"ids": []}));
    // A seeded file belongs to another project's source: not ours to delete.
    let mut url = with_token(exchange_member_url(&sandbox), &master);
    url.query_pairs_mut()
        .append_pair("project_member_id", &member);
    let page = json(plain_client().get(url.clone()).send().await.unwrap()).await;
    let seeded_id = page["data"][0]["id"].to_string();
    assert_eq!(
        json(delete(vec![pm(), ("file_id", seeded_id)]).await).await,
        json!({"ids": []})
    );
    let deleted = json(delete(vec![pm(), ("all_files", "True".into())]).await).await;
    assert_eq!(deleted, json!({"ids": [ids[3]]}));
    let page = json(plain_client().get(url).send().await.unwrap()).await;
    assert_eq!(page["count"], 12);
    assert_eq!(sandbox.stats().files_deleted, 4);
}

#[tokio::test]
async fn storage_serves_ranges() {
    let sandbox = start_default().await;
    let tokens = connect(&sandbox).await;
    let page = get_json_with_token(exchange_member_url(&sandbox), &tokens.access_token).await;
    let download_url = page["data"][0]["download_url"].as_str().unwrap();
    let whole = download(download_url).await;
    let length = whole.len();
    assert_eq!(page["data"][0]["metadata"]["md5"], md5_hex(&whole).as_str());

    let storage = storage_url(download_url).await;
    let ranged = |range: String| {
        let storage = storage.clone();
        async move {
            plain_client()
                .get(storage)
                .header("range", range)
                .send()
                .await
                .unwrap()
        }
    };
    let part = ranged("bytes=0-9".into()).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 0-9/{length}").as_str()
    );
    assert_eq!(part.headers()["content-length"], "10");
    assert_eq!(part.bytes().await.unwrap().to_vec(), whole[..10]);
    let tail = ranged("bytes=-7".into()).await;
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes().await.unwrap().to_vec(), whole[length - 7..]);
    let open_ended = ranged("bytes=5-".into()).await;
    assert_eq!(open_ended.bytes().await.unwrap().to_vec(), whole[5..]);
    let beyond = ranged(format!("bytes={length}-")).await;
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        beyond.headers()["content-range"],
        format!("bytes */{length}").as_str()
    );
    assert!(beyond
        .text()
        .await
        .unwrap()
        .contains("<Code>InvalidRange</Code>"));
}

/// Reads a body until it ends or the connection drops; the bytes received.
async fn read_until_dropped(mut response: Response) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received.extend_from_slice(&chunk),
            Ok(None) => return (received, false),
            Err(_) => return (received, true),
        }
    }
}

#[tokio::test]
async fn a_dropped_download_resumes_with_range_to_identical_bytes() {
    let config = SandboxConfig {
        files_per_member: 2,
        file_size_bytes: Some(300_000),
        faults: Faults {
            storage_body_fault: Some(BodyFault::Cut { after: 100_000 }),
            storage_body_faults: 2,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    };
    let sandbox = start(config.clone()).await;
    let tokens = connect(&sandbox).await;
    let page = get_json_with_token(exchange_member_url(&sandbox), &tokens.access_token).await;
    let expected_md5 = page["data"][0]["metadata"]["md5"]
        .as_str()
        .unwrap()
        .to_string();
    let storage = storage_url(page["data"][0]["download_url"].as_str().unwrap()).await;

    let first = plain_client().get(&storage).send().await.unwrap();
    assert_eq!(first.headers()["content-length"], "300000");
    let (mut received, dropped) = read_until_dropped(first).await;
    assert!(dropped, "the connection was cut");
    assert_eq!(received.len(), 100_000);
    let mut attempts = 1;
    while received.len() < 300_000 {
        let response = plain_client()
            .get(&storage)
            .header("range", format!("bytes={}-", received.len()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
        let (more, _) = read_until_dropped(response).await;
        received.extend(more);
        attempts += 1;
    }
    assert_eq!(attempts, 3, "two cuts, then whole");
    assert_eq!(received.len(), 300_000);
    assert_eq!(md5_hex(&received), expected_md5);
    let again = plain_client()
        .get(&storage)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(again.to_vec(), received);

    // Same seed, same bytes.
    let twin = start(config).await;
    let tokens = connect(&twin).await;
    let page = get_json_with_token(exchange_member_url(&twin), &tokens.access_token).await;
    assert_eq!(page["data"][0]["metadata"]["md5"], expected_md5.as_str());
}

#[tokio::test]
async fn fault_rates_latency_and_failed_completion() {
    let sandbox = start(small_world(2)).await;
    let master = sandbox.master_access_token();
    sandbox.set_faults(Faults {
        api_error_rate: 1.0,
        ..Faults::default()
    });
    assert_eq!(
        get_with_token(project_url(&sandbox), &master)
            .await
            .status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let member = sandbox.project_member_id("member00002").unwrap();
    let faults = Faults {
        upload_complete_error_rate: 1.0,
        ..Faults::default()
    };
    let (id, lost, listed) = upload_with_faults(&sandbox, &master, &member, faults).await;
    assert_eq!(lost, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(listed, 13, "completed despite the 500");
    assert_eq!(
        json(complete(&sandbox, &master, &member, &id).await).await,
        json!({"status": "ok", "size": 3})
    );

    // Storage errors and latency, set from outside.
    let response = plain_client()
        .post(api_url(&sandbox, "/_sandbox/faults"))
        .header(datalinks_sandbox::ADMIN_KEY_HEADER, sandbox.admin_key())
        .json(&json!({"storage_error_rate": 1.0, "latency_ms": 150}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(sandbox.faults().latency, Duration::from_millis(150));
    let tokens = connect(&sandbox).await;
    let began = Instant::now();
    let page = get_json_with_token(exchange_member_url(&sandbox), &tokens.access_token).await;
    assert!(began.elapsed() >= Duration::from_millis(150));
    let storage = storage_url(page["data"][0]["download_url"].as_str().unwrap()).await;
    let shed = plain_client().get(storage).send().await.unwrap();
    assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(shed.text().await.unwrap().contains("SlowDown"));
    assert!(sandbox.stats().faults_injected >= 3);
}

#[tokio::test]
async fn seeded_fault_draws_repeat() {
    async fn outcomes() -> Vec<StatusCode> {
        let sandbox = start(SandboxConfig {
            seed: 42,
            faults: Faults {
                api_error_rate: 0.5,
                ..Faults::default()
            },
            ..small_world(1)
        })
        .await;
        let master = sandbox.master_access_token();
        let mut statuses = Vec::new();
        for _ in 0..24 {
            statuses.push(
                get_with_token(project_url(&sandbox), &master)
                    .await
                    .status(),
            );
        }
        statuses
    }
    let first = outcomes().await;
    assert_eq!(first, outcomes().await);
    assert!(first.contains(&StatusCode::OK) && first.contains(&StatusCode::INTERNAL_SERVER_ERROR));
}

#[tokio::test]
async fn a_world_of_ten_thousand_members_lists_its_first_page_fast() {
    let began = Instant::now();
    let sandbox = start(SandboxConfig {
        member_count: 10_000,
        files_per_member: 20,
        ..SandboxConfig::default()
    })
    .await;
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "started in {:?}",
        began.elapsed()
    );
    let master = sandbox.master_access_token();
    let began = Instant::now();
    let page = json(
        plain_client()
            .get(with_token(api_url(&sandbox, MEMBERS_PATH), &master))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "first page in {:?}",
        began.elapsed()
    );
    assert_eq!(page["count"], 9_999);
    assert_eq!(page["results"].as_array().unwrap().len(), 100);
    assert_eq!(page["results"][0]["file_count"], 20);
}

#[tokio::test]
async fn gigabyte_files_cost_nothing_until_read() {
    let gigabyte = 1u64 << 30;
    let began = Instant::now();
    let sandbox = start(SandboxConfig {
        files_per_member: 2,
        file_size_bytes: Some(gigabyte),
        seeded_md5: false,
        ..SandboxConfig::default()
    })
    .await;
    let tokens = connect(&sandbox).await;
    let page = get_json_with_token(exchange_member_url(&sandbox), &tokens.access_token).await;
    assert!(page["data"][0]["metadata"].get("md5").is_none());
    let storage = storage_url(page["data"][0]["download_url"].as_str().unwrap()).await;
    let tail = plain_client()
        .get(&storage)
        .header("range", "bytes=-1024")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tail.headers()["content-range"],
        format!("bytes {}-{}/{gigabyte}", gigabyte - 1024, gigabyte - 1).as_str()
    );
    assert_eq!(tail.bytes().await.unwrap().len(), 1024);
    let whole = plain_client().get(&storage).send().await.unwrap();
    assert_eq!(
        whole.headers()["content-length"],
        gigabyte.to_string().as_str()
    );
    drop(whole);
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "took {:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn a_member_token_needs_no_member_id_and_deletes_only_the_members_files() {
    let sandbox = start(small_world(2)).await;
    let master = sandbox.master_access_token();
    let tokens = connect(&sandbox).await;
    let other = sandbox.project_member_id("member00002").unwrap();
    let other_file = json(simple_upload(&sandbox, &master, &other, "o.txt", b"x".to_vec()).await)
        .await["id"]
        .to_string();

    // `project_member_id` is filled in from the token.
    let created = json(
        post_form(
            api_url(&sandbox, DIRECT_UPLOAD_PATH),
            &tokens.access_token,
            &[("filename", "mine.txt"), ("metadata", METADATA)],
        )
        .await,
    )
    .await;
    plain_client()
        .put(created["url"].as_str().unwrap())
        .body("abc")
        .send()
        .await
        .unwrap();
    let id = created["id"].to_string();
    let done = post_form(
        api_url(&sandbox, UPLOAD_COMPLETE_PATH),
        &tokens.access_token,
        &[("file_id", &id)],
    )
    .await;
    assert_eq!(json(done).await, json!({"status": "ok", "size": 3}));

    let delete = |file_id: String| {
        let url = api_url(&sandbox, DELETE_FILES_PATH);
        let token = tokens.access_token.clone();
        async move { json(post_form(url, &token, &[("file_id", &file_id)]).await).await }
    };
    assert_eq!(
        delete(other_file).await,
        json!({"ids": []}),
        "another member's file"
    );
    assert_eq!(
        delete(id.clone()).await,
        json!({ "ids": [id.parse::<u64>().unwrap()] })
    );
}

#[tokio::test]
async fn a_completion_that_crashes_leaves_the_file_hidden() {
    let sandbox = start(small_world(2)).await;
    let master = sandbox.master_access_token();
    let member = sandbox.project_member_id("member00002").unwrap();
    let faults = Faults {
        upload_incomplete_error_rate: 1.0,
        ..Faults::default()
    };
    let (_, crashed, listed) = upload_with_faults(&sandbox, &master, &member, faults).await;
    assert_eq!(crashed, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(listed, 12, "not completed");
}

/// Uploads `f.txt` for `member` through the three direct-upload steps with `faults` on (then
/// off again); returns the file id, the completion's status, and how many files the member
/// then has.
async fn upload_with_faults(
    sandbox: &datalinks_sandbox::RunningSandbox,
    master: &str,
    member: &str,
    faults: Faults,
) -> (String, StatusCode, serde_json::Value) {
    sandbox.set_faults(faults);
    let created = json(start_direct_upload(sandbox, master, member, "f.txt", METADATA).await).await;
    plain_client()
        .put(created["url"].as_str().unwrap())
        .body("abc")
        .send()
        .await
        .unwrap();
    let id = created["id"].to_string();
    let completion = complete(sandbox, master, member, &id).await.status();
    sandbox.set_faults(Faults::default());
    let mut url = with_token(exchange_member_url(sandbox), master);
    url.query_pairs_mut()
        .append_pair("project_member_id", member);
    let listed = json(plain_client().get(url).send().await.unwrap()).await["count"].clone();
    (id, completion, listed)
}
