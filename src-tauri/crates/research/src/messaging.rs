//! Messages to members and their removal (docs/providers/open-humans.md, "Messages", "Removing
//! members"). Member ids always go as a JSON array: form-encoded lists lose all but their last
//! value on Open Humans.

use crate::http::Retry;
use crate::Project;
use datalinks_core::{Error, Result};
use serde_json::json;

const MESSAGE_PATH: &str = "api/direct-sharing/project/message/";
const REMOVE_MEMBERS_PATH: &str = "api/direct-sharing/project/remove-members/";
const MEMBER_ID_VARIABLE: &str = "PROJECT_MEMBER_ID";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipients {
    AllMembers,
    Members(Vec<String>),
}

/// The message as one member receives it: Open Humans renders it as a Django template in which
/// `{{ PROJECT_MEMBER_ID }}` is the member's id (other variables render empty).
pub fn render_preview(template: &str, project_member_id: &str) -> String {
    let mut rendered = String::with_capacity(template.len());
    let mut rest = template;
    while let Some((before, after_open)) = rest.split_once("{{") {
        let Some((variable, after_close)) = after_open.split_once("}}") else {
            break;
        };
        rendered.push_str(before);
        if variable.trim() == MEMBER_ID_VARIABLE {
            rendered.push_str(project_member_id);
        }
        rest = after_close;
    }
    rendered.push_str(rest);
    rendered
}

fn check_member_ids(ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Err(Error::invalid_input("No project member ids were given."));
    }
    if let Some(bad) = ids
        .iter()
        .find(|id| !matches!(id.len(), 8 | 16) || !id.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::invalid_input(format!(
            "{bad:?} is not a project member id (8 digits)."
        )));
    }
    Ok(())
}

impl Project {
    /// How many members a message to `recipients` reaches.
    pub async fn recipient_count(&self, recipients: &Recipients) -> Result<usize> {
        match recipients {
            Recipients::AllMembers => self.member_count().await,
            Recipients::Members(ids) => Ok(ids.len()),
        }
    }

    /// Sends one email per recipient through Open Humans. Never retried: a retry after a lost
    /// answer could send every email twice.
    pub async fn message(&self, subject: &str, body: &str, recipients: &Recipients) -> Result<()> {
        if body.trim().is_empty() {
            return Err(Error::invalid_input("The message is empty."));
        }
        let mut request = json!({ "subject": subject, "message": body });
        match recipients {
            Recipients::AllMembers => request["all_members"] = true.into(),
            Recipients::Members(ids) => {
                check_member_ids(ids)?;
                request["project_member_ids"] = json!(ids);
            }
        }
        self.expect_success(MESSAGE_PATH, &request).await
    }

    /// Removes members from the project (their authorization ends; their files stay).
    pub async fn remove_members(&self, project_member_ids: &[String]) -> Result<()> {
        check_member_ids(project_member_ids)?;
        let request = json!({ "project_member_ids": project_member_ids });
        self.expect_success(REMOVE_MEMBERS_PATH, &request).await
    }

    async fn expect_success(&self, path: &str, request: &serde_json::Value) -> Result<()> {
        let answer: serde_json::Value = self.http.post_json(path, request, Retry::Never).await?;
        if answer != "success" {
            return Err(Error::provider(format!(
                "Open Humans answered {answer} instead of \"success\"."
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_substitutes_the_member_id_and_drops_other_variables() {
        assert_eq!(
            render_preview(
                "Hi {{PROJECT_MEMBER_ID}}, id {{ PROJECT_MEMBER_ID }} {{ other }}!",
                "12345678"
            ),
            "Hi 12345678, id 12345678 !"
        );
        assert_eq!(render_preview("no close {{ x", "1"), "no close {{ x");
    }

    #[test]
    fn member_ids_are_eight_digits() {
        assert!(check_member_ids(&["12345678".into()]).is_ok());
        assert!(check_member_ids(&["1234567".into()]).is_err());
        assert!(check_member_ids(&[]).is_err());
    }
}
