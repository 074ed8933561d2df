//! DRF's `request.data` (JSON, form or multipart, by Content-Type) and the Django form fields the
//! write endpoints validate it with. Form bodies keep Django's `QueryDict.get` rule: of repeated
//! keys only the last value counts (docs/providers/open-humans.md, "Messages").

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::urls::Params;

pub const REQUIRED: &str = "This field is required.";

/// A file part of a multipart body.
pub struct UploadedFile {
    pub field: String,
    pub filename: String,
    pub bytes: axum::body::Bytes,
}

/// The parsed body: fields as JSON values (form values are strings) and multipart files.
#[derive(Default)]
pub struct RequestData {
    fields: Map<String, Value>,
    pub files: Vec<UploadedFile>,
}

/// Why a body could not be parsed; DRF answers these itself.
pub enum ParseFailure {
    /// DRF `ParseError` or `UnsupportedMediaType`: a status and `{"detail": …}`.
    Detail(StatusCode, String),
    /// A body DRF parses but the view then crashes on (a JSON array, say): 500.
    Crash,
}

impl ParseFailure {
    pub fn status_and_body(&self) -> Option<(StatusCode, Value)> {
        match self {
            ParseFailure::Detail(status, detail) => Some((*status, json!({ "detail": detail }))),
            ParseFailure::Crash => None,
        }
    }
}

impl RequestData {
    pub async fn parse(request: Request) -> Result<(RequestData, Params), ParseFailure> {
        let query = Params::from_query(request.uri().query().unwrap_or(""));
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let data = match mime.as_str() {
            "multipart/form-data" => Self::multipart(request).await?,
            _ => {
                let headers = request.headers().clone();
                let body = axum::body::to_bytes(request.into_body(), usize::MAX)
                    .await
                    .map_err(|_| ParseFailure::Crash)?;
                if body.is_empty() {
                    RequestData::default()
                } else if mime == "application/json" {
                    let value: Value = serde_json::from_slice(&body).map_err(|error| {
                        ParseFailure::Detail(
                            StatusCode::BAD_REQUEST,
                            format!("JSON parse error - {error}"),
                        )
                    })?;
                    match value {
                        Value::Object(fields) => RequestData {
                            fields,
                            files: Vec::new(),
                        },
                        _ => return Err(ParseFailure::Crash),
                    }
                } else if mime == "application/x-www-form-urlencoded" {
                    let params = Params::from_form(&headers, &body);
                    let mut fields = Map::new();
                    for (name, _) in params.pairs() {
                        if let Some(value) = params.get(name) {
                            fields.insert(name.clone(), Value::String(value.to_string()));
                        }
                    }
                    RequestData {
                        fields,
                        files: Vec::new(),
                    }
                } else {
                    return Err(ParseFailure::Detail(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        format!("Unsupported media type \"{content_type}\" in request."),
                    ));
                }
            }
        };
        Ok((data, query))
    }

    async fn multipart(request: Request) -> Result<RequestData, ParseFailure> {
        let malformed = || {
            ParseFailure::Detail(
                StatusCode::BAD_REQUEST,
                "Multipart form parse error - Invalid boundary in multipart: None".to_string(),
            )
        };
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|_| malformed())?;
        let mut data = RequestData::default();
        while let Some(field) = multipart.next_field().await.map_err(|_| malformed())? {
            let name = field.name().unwrap_or("").to_string();
            match field.file_name().map(str::to_string) {
                Some(filename) => {
                    let bytes = field.bytes().await.map_err(|_| malformed())?;
                    data.files.push(UploadedFile {
                        field: name,
                        filename,
                        bytes,
                    });
                }
                None => {
                    let text = field.text().await.map_err(|_| malformed())?;
                    data.fields.insert(name, Value::String(text));
                }
            }
        }
        Ok(data)
    }

    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// What the view does to an OAuth2 caller's request: a field forced to the caller's value.
    pub fn set(&mut self, name: &str, value: Value) {
        self.fields.insert(name.to_string(), value);
    }

    /// Django `CharField` (stripped; empty counts as missing).
    pub fn char_field(&self, name: &str, required: bool) -> Result<Option<String>, String> {
        let text = match self.fields.get(name) {
            None | Some(Value::Null) => String::new(),
            Some(value) => python_str(value).trim().to_string(),
        };
        match (text.is_empty(), required) {
            (true, true) => Err(REQUIRED.to_string()),
            (true, false) => Ok(None),
            (false, _) => Ok(Some(text)),
        }
    }

    /// Django `IntegerField(required=False)`.
    pub fn integer_field(&self, name: &str) -> Result<Option<i64>, String> {
        let Some(text) = self.char_field(name, false)? else {
            return Ok(None);
        };
        // Django drops a decimal part made only of zeros ("3.00" is 3).
        let whole = match text.split_once('.') {
            Some((whole, zeros)) if zeros.chars().all(|c| c == '0') => whole,
            _ => text.as_str(),
        };
        whole
            .parse()
            .map(Some)
            .map_err(|_| "Enter a whole number.".to_string())
    }

    /// Django `BooleanField(required=False)`: "false" and "0" are false, like anything empty.
    pub fn boolean_field(&self, name: &str) -> bool {
        match self.fields.get(name) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(value)) => *value,
            Some(Value::String(text)) => {
                !(text.is_empty() || text.eq_ignore_ascii_case("false") || text == "0")
            }
            Some(Value::Number(number)) => number.as_f64() != Some(0.0),
            Some(Value::Array(items)) => !items.is_empty(),
            Some(Value::Object(fields)) => !fields.is_empty(),
        }
    }
}

/// Python's `str()` of a JSON-decoded value, which is what a Django form field sees when a JSON
/// body carries something other than a string (a nested object becomes its repr).
pub fn python_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => python_repr(other),
    }
}

fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(key, value)| format!("'{key}': {}", python_repr(value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Django's `form.errors`: field errors in field order, then `__all__`.
#[derive(Default)]
pub struct FormErrors(Map<String, Value>);

impl FormErrors {
    pub fn add(&mut self, field: &str, message: &str) {
        let entry = self
            .0
            .entry(field.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(messages) = entry {
            messages.push(Value::String(message.to_string()));
        }
    }

    /// Records a field's outcome and passes its value on.
    pub fn check<T>(&mut self, field: &str, outcome: Result<T, String>) -> Option<T> {
        outcome.map_err(|message| self.add(field, &message)).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// What a view does with an unparseable body.
pub fn parse_failure_response(failure: ParseFailure) -> Response {
    match failure.status_and_body() {
        Some((status, body)) => crate::api::api_response(status, body.to_string()),
        None => crate::pages::server_error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_json_becomes_a_python_repr() {
        let value = json!({"description": "a 'b'", "tags": [true, null, 1]});
        assert_eq!(
            python_str(&value),
            "{'description': 'a \\'b\\'', 'tags': [True, None, 1]}"
        );
        assert!(serde_json::from_str::<Value>(&python_str(&value)).is_err());
    }

    #[test]
    fn django_field_rules() {
        let mut data = RequestData::default();
        data.set("id", json!(" 12.00 "));
        data.set("bad", json!("1.5"));
        data.set("off", json!("False"));
        data.set("on", json!("on"));
        assert_eq!(data.integer_field("id"), Ok(Some(12)));
        assert!(data.integer_field("bad").is_err());
        assert_eq!(data.integer_field("missing"), Ok(None));
        assert!(!data.boolean_field("off"));
        assert!(data.boolean_field("on"));
        assert_eq!(data.char_field("missing", true), Err(REQUIRED.to_string()));
    }
}
