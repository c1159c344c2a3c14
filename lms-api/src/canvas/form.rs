//! Rack-style bracketed parameters (`user[name]=Ann`, `include[]=a`, `quiz_questions[][id]=1`) into a JSON
//! tree, as Canvas reads them and as `canvasapi` writes them.
//!
//! The rules are Rack's `normalize_params`: `a[b]` nests an object; `a[]` appends to an array; `a[][b]`
//! adds `b` to the array's last object, unless that object already has `b`, in which case it starts a new
//! object (so `q[][id]=1&q[][answer]=5&q[][id]=2` is two elements). Every value is a string: callers coerce.
//! Written here rather than taken from a crate because the crates that parse brackets (serde_qs and others)
//! follow PHP's rules, which read `q[][id]=1&q[][answer]=5` as two elements, not Rack's.

use serde_json::{Map, Value};

/// Brackets one key may nest.
const MAX_DEPTH: usize = 32;
/// Pairs one request may carry.
const MAX_PAIRS: usize = 10_000;

/// Why a set of parameters cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// A key is used both as a value and as a nested object or array (`a=1&a[b]=2`).
    #[error("parameter {key}: used both as {first} and as {second}")]
    TypeClash {
        /// The key, as sent.
        key: String,
        /// What it was first.
        first: &'static str,
        /// What it was then.
        second: &'static str,
    },
    /// A key nests deeper than [`MAX_DEPTH`].
    #[error("parameter {key}: nested deeper than {MAX_DEPTH} brackets")]
    TooDeep {
        /// The key, cut short.
        key: String,
    },
    /// More pairs than [`MAX_PAIRS`].
    #[error("more than {MAX_PAIRS} parameters")]
    TooMany,
}

/// Parses `application/x-www-form-urlencoded` bytes (a query string or a form body) into an object.
pub fn parse(encoded: &[u8]) -> Result<Map<String, Value>, FormError> {
    let mut params = Map::new();
    for (count, (key, value)) in form_urlencoded::parse(encoded).enumerate() {
        if count >= MAX_PAIRS {
            return Err(FormError::TooMany);
        }
        insert(&mut params, &key, Value::String(value.into_owned()))?;
    }
    Ok(params)
}

/// Adds one pair to `params`, by Rack's rules.
pub fn insert(params: &mut Map<String, Value>, key: &str, value: Value) -> Result<(), FormError> {
    let path = split_key(key)?;
    if path.is_empty() {
        return Ok(());
    }
    let mut current = Slot::Object(params);
    let last = path.len() - 1;
    for (index, segment) in path.iter().enumerate() {
        let is_last = index == last;
        current = match (current, segment) {
            (Slot::Object(map), Segment::Name(name)) => {
                if is_last {
                    map.insert((*name).to_owned(), value);
                    return Ok(());
                }
                let next_is_array = matches!(path[index + 1], Segment::Append);
                let entry = map.entry((*name).to_owned()).or_insert_with(|| {
                    if next_is_array { Value::Array(Vec::new()) } else { Value::Object(Map::new()) }
                });
                Slot::of(entry, key, next_is_array)?
            }
            (Slot::Array(items), Segment::Append) => {
                if is_last {
                    items.push(value);
                    return Ok(());
                }
                // `a[][b]…`: the rest of the path goes into the last element, unless it already has that path.
                let rest = &path[index + 1..];
                let reuse = matches!(items.last(), Some(Value::Object(last)) if !has_path(last, rest));
                if !reuse {
                    items.push(Value::Object(Map::new()));
                }
                match items.last_mut() {
                    Some(Value::Object(last)) => Slot::Object(last),
                    _ => return Err(clash(key, "a value", "an object")),
                }
            }
            (Slot::Object(_), Segment::Append) => return Err(clash(key, "an object", "an array")),
            (Slot::Array(_), Segment::Name(_)) => return Err(clash(key, "an array", "an object")),
        };
    }
    Ok(())
}

/// One step of a key's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment<'a> {
    Name(&'a str),
    Append,
}

enum Slot<'a> {
    Object(&'a mut Map<String, Value>),
    Array(&'a mut Vec<Value>),
}

impl<'a> Slot<'a> {
    fn of(value: &'a mut Value, key: &str, want_array: bool) -> Result<Slot<'a>, FormError> {
        match value {
            Value::Object(map) if !want_array => Ok(Slot::Object(map)),
            Value::Array(items) if want_array => Ok(Slot::Array(items)),
            Value::Object(_) => Err(clash(key, "an object", "an array")),
            Value::Array(_) => Err(clash(key, "an array", "an object")),
            _ => Err(clash(key, "a value", if want_array { "an array" } else { "an object" })),
        }
    }
}

fn clash(key: &str, first: &'static str, second: &'static str) -> FormError {
    FormError::TypeClash { key: crate::error::echo(key), first, second }
}

/// `a[b][]` → `[Name(a), Name(b), Append]`. Text after a closing bracket that opens no new one is ignored,
/// as Rack does; an unclosed bracket makes the rest of the key part of the name.
fn split_key(key: &str) -> Result<Vec<Segment<'_>>, FormError> {
    let Some(open) = key.find('[') else {
        return Ok(if key.is_empty() { Vec::new() } else { vec![Segment::Name(key)] });
    };
    if open == 0 || !key[open..].contains(']') {
        return Ok(vec![Segment::Name(key)]);
    }
    let mut path = vec![Segment::Name(&key[..open])];
    let mut rest = &key[open..];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else { break };
        let name = &inner[..close];
        path.push(if name.is_empty() { Segment::Append } else { Segment::Name(name) });
        if path.len() > MAX_DEPTH {
            return Err(FormError::TooDeep { key: crate::error::echo(key) });
        }
        rest = &inner[close + 1..];
    }
    Ok(path)
}

/// Whether `object` already holds a value at `path` (Rack's `params_hash_has_key?`). A path that appends
/// (`answer[]`) never counts as held, so its values gather in the same element.
fn has_path(object: &Map<String, Value>, path: &[Segment<'_>]) -> bool {
    if path.contains(&Segment::Append) {
        return false;
    }
    let mut current = object;
    for (index, segment) in path.iter().enumerate() {
        let Segment::Name(name) = segment else { return false };
        match current.get(*name) {
            None => return false,
            Some(_) if index + 1 == path.len() => return true,
            Some(Value::Object(inner)) => current = inner,
            Some(_) => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parsed(text: &str) -> Value {
        Value::Object(parse(text.as_bytes()).unwrap())
    }

    #[test]
    fn nested_objects_and_arrays() {
        assert_eq!(
            parsed("user[name]=Ann+Lee&pseudonym[unique_id]=ann%40example.edu&include[]=a&include[]=b"),
            json!({"user": {"name": "Ann Lee"}, "pseudonym": {"unique_id": "ann@example.edu"}, "include": ["a", "b"]})
        );
        assert_eq!(
            parsed("module[prerequisite_module_ids][]=1&module[prerequisite_module_ids][]=2"),
            json!({"module": {"prerequisite_module_ids": ["1", "2"]}})
        );
    }

    #[test]
    fn a_repeated_key_starts_a_new_element() {
        assert_eq!(
            parsed(
                "quiz_questions[][id]=1&quiz_questions[][answer]=5&quiz_questions[][id]=2&quiz_questions[][answer]=6"
            ),
            json!({"quiz_questions": [{"id": "1", "answer": "5"}, {"id": "2", "answer": "6"}]})
        );
        // A `None` answer is dropped by the client: the next id still starts a new element.
        assert_eq!(
            parsed("quiz_questions[][id]=8&quiz_questions[][id]=9&quiz_questions[][answer]=1"),
            json!({"quiz_questions": [{"id": "8"}, {"id": "9", "answer": "1"}]})
        );
    }

    #[test]
    fn arrays_inside_array_elements() {
        assert_eq!(
            parsed("quiz_questions[][id]=1&quiz_questions[][answer][]=3&quiz_questions[][answer][]=6"),
            json!({"quiz_questions": [{"id": "1", "answer": ["3", "6"]}]})
        );
        assert_eq!(
            parsed(
                "q[][id]=1&q[][answer][][answer_id]=6&q[][answer][][match_id]=10&q[][answer][][answer_id]=7&q[][answer][][match_id]=11"
            ),
            json!({"q": [{"id": "1", "answer": [{"answer_id": "6", "match_id": "10"}, {"answer_id": "7", "match_id": "11"}]}]})
        );
        assert_eq!(
            parsed("quiz_submissions[][attempt]=1&quiz_submissions[][questions][7][score]=2.5"),
            json!({"quiz_submissions": [{"attempt": "1", "questions": {"7": {"score": "2.5"}}}]})
        );
    }

    #[test]
    fn the_last_plain_value_wins() {
        // canvasapi sends `per_page=1&per_page=100` when the caller passed its own.
        assert_eq!(parsed("per_page=1&per_page=100"), json!({"per_page": "100"}));
    }

    #[test]
    fn clashes_and_depth_are_refused_with_the_key() {
        let error = parse(b"a=1&a[b]=2").unwrap_err();
        assert!(error.to_string().contains("parameter a[b]"), "{error}");
        assert!(parse(b"a[]=1&a[b]=2").is_err());
        let deep = format!("a{}=1", "[x]".repeat(40));
        assert!(matches!(parse(deep.as_bytes()), Err(FormError::TooDeep { .. })));
    }

    #[test]
    fn odd_keys_do_not_panic() {
        for key in ["[", "]", "[]", "[a]", "a[", "a]", "a[b", "a[]]", "a[][", "a[]b[c]", "=", "&&", "a[][]", "a[][][b]"]
        {
            let _ = parse(format!("{key}=1").as_bytes());
        }
        assert_eq!(parsed("a[b=1"), json!({"a[b": "1"}));
    }
}
