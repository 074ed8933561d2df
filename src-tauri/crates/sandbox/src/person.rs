//! A person at the browser, scripted: opens an authorize URL, logs in when asked, reads the
//! consent form and presses a button, exactly as the HTML asks a browser to. Tests and the
//! CLI's demo use it to walk the sandbox's pages without a real browser.

use reqwest::{redirect::Policy, StatusCode};
use url::Url;

/// What the person does on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Authorize,
    Cancel,
}

pub struct Person {
    browser: reqwest::Client,
    username: String,
    password: String,
}

impl Person {
    /// The seeded Open Humans sandbox member.
    pub fn alice() -> Self {
        Self::new("alice", "sandbox")
    }

    pub fn new(username: &str, password: &str) -> Self {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .expect("a reqwest client");
        Self {
            browser,
            username: username.into(),
            password: password.into(),
        }
    }

    /// Opens `authorize_url`, logs in if sent to the login page, answers the consent page (or
    /// is sent back at once when the server auto-approves) and returns the redirect URL the
    /// browser would go to next. It does not follow that redirect.
    pub async fn answer(&self, authorize_url: &str, answer: Answer) -> Result<String, String> {
        let authorize_url = Url::parse(authorize_url).map_err(|e| e.to_string())?;
        let mut page = self.get(&authorize_url).await?;
        // A redirect within the provider's own site, rather than to the client, asks for a login.
        let login_url = authorize_url.join(&page.location).ok().filter(|url| {
            page.status == StatusCode::FOUND && url.origin() == authorize_url.origin()
        });
        if let Some(login_url) = login_url {
            let login = self.get(&login_url).await?;
            let form = HtmlForm::parse(&login.body)?;
            let mut fields = form.submission(None);
            set_field(&mut fields, "username", &self.username);
            set_field(&mut fields, "password", &self.password);
            let after_login = self
                .post(
                    &authorize_url
                        .join(&form.action)
                        .map_err(|e| e.to_string())?,
                    &fields,
                )
                .await?;
            if after_login.status != StatusCode::FOUND {
                return Err(format!("login refused (HTTP {})", after_login.status));
            }
            page = self.get(&authorize_url).await?;
        }
        if page.status == StatusCode::FOUND {
            return Ok(page.location); // auto-approved
        }
        if page.status != StatusCode::OK {
            return Err(format!(
                "the authorize page answered HTTP {}: {}",
                page.status, page.body
            ));
        }
        let form = HtmlForm::parse(&page.body)?;
        // Providers label the approving button "Authorize …".
        let button = form
            .inputs
            .iter()
            .filter(|input| input.kind == "submit")
            .map(|input| input.value.as_str())
            .find(|label| match answer {
                Answer::Authorize => label.starts_with("Authorize"),
                Answer::Cancel => *label == "Cancel",
            })
            .ok_or("the consent form has no such button")?
            .to_string();
        let answered = self
            .post(
                &authorize_url
                    .join(&form.action)
                    .map_err(|e| e.to_string())?,
                &form.submission(Some(&button)),
            )
            .await?;
        if answered.status != StatusCode::FOUND {
            return Err(format!(
                "the consent form answered HTTP {}: {}",
                answered.status, answered.body
            ));
        }
        Ok(answered.location)
    }

    async fn get(&self, url: &Url) -> Result<Page, String> {
        Page::from(self.browser.get(url.clone()).send().await).await
    }

    async fn post(&self, url: &Url, fields: &[(String, String)]) -> Result<Page, String> {
        Page::from(self.browser.post(url.clone()).form(fields).send().await).await
    }
}

fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(n, _)| n != name);
    fields.push((name.into(), value.into()));
}

struct Page {
    status: StatusCode,
    location: String,
    body: String,
}

impl Page {
    async fn from(response: reqwest::Result<reqwest::Response>) -> Result<Page, String> {
        let response = response.map_err(|e| e.to_string())?;
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await.map_err(|e| e.to_string())?;
        Ok(Page {
            status,
            location,
            body,
        })
    }
}

/// The first `<form>` of a page: its action and its `<input>`s.
#[derive(Debug)]
pub struct HtmlForm {
    pub action: String,
    pub inputs: Vec<HtmlInput>,
}

#[derive(Debug, Clone)]
pub struct HtmlInput {
    pub kind: String,
    pub name: Option<String>,
    pub value: String,
}

impl HtmlForm {
    pub fn parse(html: &str) -> Result<HtmlForm, String> {
        let start = html.find("<form").ok_or("the page has no form")?;
        let end = start
            + html[start..]
                .find("</form>")
                .ok_or("the form is not closed")?;
        let form = &html[start..end];
        let open_tag = &form[..form.find('>').unwrap_or(form.len())];
        let inputs = form
            .match_indices("<input")
            .map(|(at, _)| {
                let tag = &form[at..at + form[at..].find('>').unwrap_or(form.len() - at)];
                HtmlInput {
                    kind: attribute(tag, "type").unwrap_or_else(|| "text".into()),
                    name: attribute(tag, "name"),
                    value: attribute(tag, "value").unwrap_or_default(),
                }
            })
            .collect();
        Ok(HtmlForm {
            action: attribute(open_tag, "action").unwrap_or_default(),
            inputs,
        })
    }

    /// What a browser submits when `button` (a submit input's value) is pressed; unchecked
    /// checkboxes and the other submit buttons are left out.
    pub fn submission(&self, button: Option<&str>) -> Vec<(String, String)> {
        self.inputs
            .iter()
            .filter(|input| match input.kind.as_str() {
                "submit" => Some(input.value.as_str()) == button,
                "checkbox" | "radio" => false,
                _ => true,
            })
            .filter_map(|input| Some((input.name.clone()?, input.value.clone())))
            .collect()
    }
}

impl HtmlForm {
    /// The value of the hidden input `name`.
    pub fn hidden(&self, name: &str) -> Option<String> {
        self.inputs
            .iter()
            .find(|i| i.kind == "hidden" && i.name.as_deref() == Some(name))
            .map(|i| i.value.clone())
    }
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = start + tag[start..].find('"')?;
    let raw = &tag[start..end];
    Some(
        raw.replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}
