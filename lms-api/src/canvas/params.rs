//! Request parameters the way Canvas takes them: the query string, then the body (form-encoded with Rack
//! brackets, or JSON), merged into one tree and read into a typed struct.
//!
//! Form values are all strings, so the typed structs read numbers and booleans through [`lenient`], which
//! accepts `5` and `"5"`, `true` and `"true"`. A field that does not fit answers 400 naming the field by its
//! path (`user.name`).

use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::ApiError;
use crate::canvas::form;

/// The largest parameter body read (uploads have their own routes).
const MAX_BODY: usize = 1024 * 1024;

/// Parameters of type `T`, from the query string and the body.
#[derive(Debug, Clone)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let mut tree = match parts.uri.query() {
            Some(query) => form::parse(query.as_bytes()).map_err(bad_params)?,
            None => Map::new(),
        };
        let content_type =
            parts.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("").to_owned();
        let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|error| ApiError::BadRequest {
            code: "invalid-body",
            message: format!(
                "reading the request body (at most {MAX_BODY} bytes): {}",
                crate::error::with_causes(&error)
            ),
        })?;
        if !body.is_empty() {
            let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if media_type == "application/json" || media_type.ends_with("+json") {
                match serde_json::from_slice::<Value>(&body) {
                    Ok(Value::Object(object)) => tree.extend(object),
                    Ok(_) => {
                        return Err(ApiError::BadRequest {
                            code: "invalid-body",
                            message: "the JSON body is not an object".into(),
                        });
                    }
                    Err(error) => {
                        return Err(ApiError::BadRequest {
                            code: "invalid-body",
                            message: format!("the JSON body: {error}"),
                        });
                    }
                }
            } else {
                // Form-encoded, declared or not (canvasapi always declares it; curl -d does too).
                for (key, value) in form::parse(&body).map_err(bad_params)? {
                    tree.insert(key, value);
                }
            }
        }
        read(Value::Object(tree)).map(Params)
    }
}

/// Reads a parameter tree into `T`, naming the field that does not fit.
pub fn read<T: DeserializeOwned>(tree: Value) -> Result<T, ApiError> {
    if let Some(path) = nul_in(&tree, String::new()) {
        return Err(ApiError::BadRequest {
            code: "invalid-parameter",
            message: format!("parameter {path}: contains a NUL character"),
        });
    }
    serde_path_to_error::deserialize(tree).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        ApiError::BadRequest {
            code: "invalid-parameter",
            message: if path == "." { format!("parameters: {inner}") } else { format!("parameter {path}: {inner}") },
        }
    })
}

/// The path (`module.name`) of the first name or text in `tree` that holds a NUL character: no stored
/// text may (PostgreSQL refuses them, and no real input has one).
fn nul_in(tree: &Value, path: String) -> Option<String> {
    let at = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match tree {
        Value::String(text) => text.contains('\0').then_some(path),
        Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| nul_in(item, at(&index.to_string()))),
        Value::Object(map) => map.iter().find_map(|(key, value)| {
            if key.contains('\0') {
                Some(at(&crate::error::echo(&key.replace('\0', "\\0"))))
            } else {
                nul_in(value, at(key))
            }
        }),
        _ => None,
    }
}

fn bad_params(error: form::FormError) -> ApiError {
    ApiError::BadRequest { code: "invalid-parameter", message: error.to_string() }
}

/// Deserializers for values that arrive as strings from a form and as numbers or booleans from JSON.
pub mod lenient {
    use serde::{Deserialize, Deserializer, de::Error};
    use serde_json::Value;

    /// An optional integer: `5`, `"5"`, or absent/empty.
    pub fn opt_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        match Option::<Value>::deserialize(deserializer)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) => {
                number.as_i64().map(Some).ok_or_else(|| D::Error::custom(format!("{number} is not an integer")))
            }
            Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::String(text)) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("{:?} is not an integer", crate::error::echo(&text)))),
            Some(other) => Err(D::Error::custom(format!("expected an integer, found {other}"))),
        }
    }

    /// An optional boolean: `true`, `"true"`, `"1"`, `"false"`, `"0"`, or absent/empty.
    pub fn opt_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
        match Option::<Value>::deserialize(deserializer)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(value)) => Ok(Some(value)),
            Some(Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "true" | "1" | "on" | "yes" => Ok(Some(true)),
                "false" | "0" | "off" | "no" => Ok(Some(false)),
                _ => Err(D::Error::custom(format!("{:?} is not a boolean", crate::error::echo(&text)))),
            },
            Some(Value::Number(number)) => Ok(Some(number.as_i64() != Some(0))),
            Some(other) => Err(D::Error::custom(format!("expected a boolean, found {other}"))),
        }
    }

    /// An optional string; numbers and booleans are taken as their text.
    pub fn opt_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        match Option::<Value>::deserialize(deserializer)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(Value::Bool(value)) => Ok(Some(value.to_string())),
            Some(other) => Err(D::Error::custom(format!("expected text, found {other}"))),
        }
    }
}
