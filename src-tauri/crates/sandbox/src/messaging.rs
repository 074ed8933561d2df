//! `POST …/project/message/` and `POST …/project/remove-members/` (docs/providers/open-humans.md,
//! "Messages", "Removing members"): Django forms over the request data, errors wrapped in
//! `{"errors": …}`, success is the JSON string `"success"`. Emails and removals are recorded for
//! tests instead of being sent.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use crate::api::{admit_form, api_json, api_ok, Caller, CONTACT_EMAIL};
use crate::form::{FormErrors, RequestData};
use crate::pages;
use crate::state::{RemovedMember, Sandbox, SentMessage};

const IDS: &str = "project_member_ids";

/// `ProjMemberFormAPIMixin.process_projmember_api_request`: authentication, the parsed data, and
/// an OAuth2 caller confined to themselves.
async fn admitted_data(sandbox: &Sandbox, request: Request) -> Result<RequestData, Box<Response>> {
    let (caller, mut data) = admit_form(sandbox, request).await?;
    if let Caller::Member(member) = caller {
        let own_id = sandbox.world.members[member].project_member_id.clone();
        data.set("all_members", Value::Bool(false));
        data.set(IDS, json!([own_id]));
    }
    Ok(data)
}

/// The admitted data and its cleaned `project_member_ids`, the field's error going to `errors`.
async fn admitted_members(
    sandbox: &Sandbox,
    request: Request,
    errors: &mut FormErrors,
) -> Result<(RequestData, Option<Vec<usize>>), Box<Response>> {
    let data = admitted_data(sandbox, request).await?;
    let Some(members) = clean_member_ids(sandbox, &data) else {
        return Err(Box::new(pages::server_error()));
    };
    let members = errors.check(IDS, members);
    Ok((data, members))
}

/// The raw `project_member_ids` is given (Python truthiness), whatever it holds.
fn ids_given(data: &RequestData) -> bool {
    match data.raw(IDS) {
        None | Some(Value::Null) => false,
        Some(Value::String(text)) => !text.is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    }
}

/// `BaseProjectMembersForm.clean_project_member_ids`: the active members named, or the field's
/// error. `None` when Open Humans would crash (`','.join` of something that is not a list of
/// strings).
fn clean_member_ids(sandbox: &Sandbox, data: &RequestData) -> Option<Result<Vec<usize>, String>> {
    let raw = match data.raw(IDS) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => {
            let texts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            texts?.join(",")
        }
        Some(Value::Object(fields)) => fields.keys().cloned().collect::<Vec<_>>().join(","),
        Some(_) => return None,
    };
    let ids: Vec<&str> = raw
        .split([' ', ',', '\r', '\n'])
        .filter(|id| !id.is_empty())
        .collect();
    if ids.iter().any(|id| id.len() != 8 && id.len() != 16) {
        return Some(Err(
            "Project member IDs are always 8 digits long.".to_string()
        ));
    }
    let memberships = sandbox.store().memberships.clone();
    let mut found: Vec<usize> = sandbox
        .world
        .members
        .iter()
        .enumerate()
        .filter(|(index, member)| {
            memberships[*index].authorized && ids.contains(&member.project_member_id.as_str())
        })
        .map(|(index, _)| index)
        .collect();
    found.sort_unstable();
    // Counted like Open Humans does: a repeated id makes the counts differ too.
    if ids.len() != found.len() {
        let invalid: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| {
                !found
                    .iter()
                    .any(|member| sandbox.world.members[*member].project_member_id == *id)
            })
            .collect();
        return Some(Err(format!(
            "Invalid project member ID(s): {}",
            invalid.join(", ")
        )));
    }
    Some(Ok(found))
}

fn form_errors(errors: FormErrors) -> Response {
    api_json(
        StatusCode::BAD_REQUEST,
        &json!({ "errors": errors.into_value() }),
    )
}

/// Django renders the message as a template with `PROJECT_MEMBER_ID` in its context; other
/// variables render empty. Tags (`{% … %}`) are not interpreted here.
fn render_message(template: &str, project_member_id: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        out.push_str(&rest[..open]);
        if rest[open + 2..open + close].trim() == "PROJECT_MEMBER_ID" {
            out.push_str(project_member_id);
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

/// `POST /api/direct-sharing/project/message/`
pub async fn message(State(sandbox): State<Arc<Sandbox>>, request: Request) -> Response {
    let mut errors = FormErrors::default();
    let (data, members) = match admitted_members(&sandbox, request, &mut errors).await {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    let all_members = data.boolean_field("all_members");
    let subject = errors.check("subject", data.char_field("subject", false));
    let message = errors.check("message", data.char_field("message", true));
    let ids_given = ids_given(&data);
    if !all_members && !ids_given {
        errors.add(
            "__all__",
            "You must specify either all members or provide a list of IDs.",
        );
    }
    if all_members && ids_given {
        errors.add(
            "__all__",
            "You must specify either all members or provide a list of IDs but not both.",
        );
    }
    let (Some(members), Some(subject), Some(Some(message))) = (members, subject, message) else {
        return form_errors(errors);
    };
    if !errors.is_empty() {
        return form_errors(errors);
    }
    let recipients: Vec<usize> = if all_members {
        let store = sandbox.store();
        (0..sandbox.world.members.len())
            .filter(|member| store.memberships[*member].authorized)
            .collect()
    } else {
        members
    };
    let project_name = &sandbox.world.project.name;
    let subject = match subject {
        Some(subject) => format!("[Open Humans Project Message] {subject}"),
        None => format!("[Open Humans Project Message] From \"{project_name}\""),
    };
    let sent: Vec<SentMessage> = recipients
        .into_iter()
        .map(|member| {
            let member = &sandbox.world.members[member];
            SentMessage {
                project_member_id: member.project_member_id.clone(),
                username: member.username.clone(),
                from: format!("{project_name} <support@openhumans.org>"),
                reply_to: CONTACT_EMAIL.to_string(),
                subject: subject.clone(),
                body: render_message(&message, &member.project_member_id),
            }
        })
        .collect();
    let mut store = sandbox.store();
    store.stats.messages_sent += sent.len() as u64;
    store.messages.extend(sent);
    api_ok(&"success")
}

/// `POST /api/direct-sharing/project/remove-members/`
pub async fn remove_members(State(sandbox): State<Arc<Sandbox>>, request: Request) -> Response {
    let mut errors = FormErrors::default();
    let (data, members) = match admitted_members(&sandbox, request, &mut errors).await {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    if !ids_given(&data) {
        errors.add("__all__", "You must provide a list of project member IDs.");
    }
    let (Some(members), true) = (members, errors.is_empty()) else {
        return form_errors(errors);
    };
    for member in members {
        // `leave_project(done_by="project-coordinator")`: tokens deleted, files kept, and the
        // webhook sent (with no erasure request).
        let seeded = &sandbox.world.members[member];
        {
            let mut store = sandbox.store();
            store.deauthorize(member);
            store.removed_members.push(RemovedMember {
                project_member_id: seeded.project_member_id.clone(),
                username: seeded.username.clone(),
                done_by: "project-coordinator".to_string(),
            });
            store.stats.members_removed += 1;
        }
        crate::webhook::notify_departure(&sandbox, &seeded.project_member_id, false).await;
    }
    api_ok(&"success")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_member_id_variable_is_filled_in() {
        assert_eq!(
            render_message(
                "Hi {{ PROJECT_MEMBER_ID }}/{{PROJECT_MEMBER_ID}} {{ other }}!",
                "12345678"
            ),
            "Hi 12345678/12345678 !"
        );
        assert_eq!(render_message("{{ unclosed", "1"), "{{ unclosed");
    }
}
