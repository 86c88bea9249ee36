//! Server entries as plain data (`serde_json::Value`), whatever the file's
//! format, so that the entry a file holds and the entry Keybearer writes can
//! be compared as data (`changed.rs`).
//!
//! Limits: formatting, comments and key order are gone (they change nothing
//! an app does); TOML dates and YAML floats become their text, a YAML key
//! that is not a scalar becomes `"?"`, and YAML aliases have already been
//! expanded by the loader.

use jsonc_parser::cst::CstInputValue;
use serde_json::{Map, Value};
use yaml_rust2::Yaml;

/// What `jsonc-parser` would write for `value`.
pub(crate) fn from_cst(value: &CstInputValue) -> Value {
    match value {
        CstInputValue::Null => Value::Null,
        CstInputValue::Bool(b) => Value::Bool(*b),
        CstInputValue::Number(n) => {
            serde_json::from_str(n).unwrap_or_else(|_| Value::String(n.clone()))
        }
        CstInputValue::String(s) => Value::String(s.clone()),
        CstInputValue::Array(items) => Value::Array(items.iter().map(from_cst).collect()),
        CstInputValue::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), from_cst(v)))
                .collect(),
        ),
    }
}

pub(crate) fn from_toml_item(item: &toml_edit::Item) -> Value {
    use toml_edit::Item;
    match item {
        Item::None => Value::Null,
        Item::Value(v) => from_toml_value(v),
        Item::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), from_toml_item(v)))
                .collect(),
        ),
        Item::ArrayOfTables(tables) => Value::Array(
            tables
                .iter()
                .map(|t| {
                    Value::Object(
                        t.iter()
                            .map(|(k, v)| (k.to_string(), from_toml_item(v)))
                            .collect(),
                    )
                })
                .collect(),
        ),
    }
}

fn from_toml_value(value: &toml_edit::Value) -> Value {
    use toml_edit::Value as V;
    match value {
        V::String(s) => Value::String(s.value().clone()),
        V::Integer(i) => Value::from(*i.value()),
        V::Float(f) => Value::String(f.value().to_string()),
        V::Boolean(b) => Value::Bool(*b.value()),
        V::Datetime(d) => Value::String(d.value().to_string()),
        V::Array(items) => Value::Array(items.iter().map(from_toml_value).collect()),
        V::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), from_toml_value(v)))
                .collect(),
        ),
    }
}

pub(crate) fn from_yaml(value: &Yaml) -> Value {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(items) => Value::Array(items.iter().map(from_yaml).collect()),
        Yaml::Hash(h) => {
            let mut map = Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) | Yaml::Real(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    _ => "?".to_string(),
                };
                map.insert(key, from_yaml(v));
            }
            Value::Object(map)
        }
        Yaml::Null | Yaml::Alias(_) | Yaml::BadValue => Value::Null,
    }
}
