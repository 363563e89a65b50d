//! YAML templates to the JSON form of a template, keeping what CloudFormation's YAML
//! reader keeps: the short forms of the intrinsic functions (`!Ref X` → `{"Ref": "X"}`,
//! `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`, `!Sub …` → `{"Fn::Sub": …}`), anchors
//! and aliases, and the position of a syntax error
//! (`YAML not well-formed. (line 3, column 7)`).
//!
//! Built on the event parser of `yaml-rust2`, which reports tags and positions.

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A YAML error with its 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub detail: String,
}

/// Parses one YAML document into JSON, with CloudFormation's tag short forms expanded.
pub fn parse(text: &str) -> Result<Value, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| YamlError {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        detail: e.info().to_string(),
    })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.root.unwrap_or(Value::Null))
}

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        tag: Option<Tag>,
    },
    Map {
        map: Map<String, Value>,
        pending_key: Option<(String, Marker)>,
        anchor: usize,
        tag: Option<Tag>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: std::collections::HashMap<usize, Value>,
    root: Option<Value>,
    error: Option<YamlError>,
}

impl Builder {
    fn fail(&mut self, mark: Marker, detail: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                line: mark.line(),
                column: mark.col() + 1,
                detail: detail.into(),
            });
        }
    }

    /// Adds a finished value to the enclosing collection (or makes it the document).
    fn push(&mut self, value: Value, mark: Marker, key_text: Option<String>) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(value);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                map, pending_key, ..
            }) => match pending_key.take() {
                None => match key_text {
                    Some(k) => *pending_key = Some((k, mark)),
                    None => self.fail(mark, "mapping keys must be scalars"),
                },
                Some((k, key_mark)) => {
                    if map.contains_key(&k) {
                        self.fail(key_mark, format!("duplicate mapping key {k:?}"));
                    } else {
                        map.insert(k, value);
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let value = match tagged(&tag, scalar(&text, style, &tag), Shape::Scalar) {
                    Ok(v) => v,
                    Err(e) => return self.fail(mark, e),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                self.push(value, mark, Some(text));
            }
            Event::SequenceStart(anchor, tag) => self.stack.push(Frame::Seq {
                items: Vec::new(),
                anchor,
                tag,
            }),
            Event::MappingStart(anchor, tag) => self.stack.push(Frame::Map {
                map: Map::new(),
                pending_key: None,
                anchor,
                tag,
            }),
            Event::SequenceEnd => {
                if let Some(Frame::Seq { items, anchor, tag }) = self.stack.pop() {
                    match tagged(&tag, Value::Array(items), Shape::Seq) {
                        Ok(v) => {
                            if anchor > 0 {
                                self.anchors.insert(anchor, v.clone());
                            }
                            self.push(v, mark, None);
                        }
                        Err(e) => self.fail(mark, e),
                    }
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    map, anchor, tag, ..
                }) = self.stack.pop()
                {
                    match tagged(&tag, Value::Object(map), Shape::Map) {
                        Ok(v) => {
                            if anchor > 0 {
                                self.anchors.insert(anchor, v.clone());
                            }
                            self.push(v, mark, None);
                        }
                        Err(e) => self.fail(mark, e),
                    }
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(v) => {
                    let key = v.as_str().map(str::to_string);
                    self.push(v, mark, key);
                }
                None => self.fail(mark, "alias to an unknown anchor"),
            },
            Event::DocumentStart => {
                if self.root.is_some() {
                    self.fail(mark, "a template is a single YAML document");
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Scalar,
    Seq,
    Map,
}

/// Applies a tag: CloudFormation's `!Fn` short forms, or YAML's own `!!str`-style tags.
fn tagged(tag: &Option<Tag>, value: Value, shape: Shape) -> Result<Value, String> {
    let Some(tag) = tag else {
        return Ok(value);
    };
    if tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:" {
        return Ok(match (tag.suffix.as_str(), value) {
            ("str", Value::Null) => Value::String(String::new()),
            ("str", Value::Bool(b)) => Value::String(b.to_string()),
            ("str", Value::Number(n)) => Value::String(n.to_string()),
            (_, v) => v,
        });
    }
    if tag.handle != "!" || tag.suffix.is_empty() {
        return Err(format!("unknown tag {}{}", tag.handle, tag.suffix));
    }
    let name = tag.suffix.as_str();
    let key = match name {
        "Ref" | "Condition" => name.to_string(),
        _ => format!("Fn::{name}"),
    };
    let value = match (name, shape, value) {
        // `!GetAtt Resource.Attribute` is the short form of ["Resource", "Attribute"].
        ("GetAtt", Shape::Scalar, Value::String(s)) => match s.split_once('.') {
            Some((r, a)) => Value::Array(vec![Value::String(r.into()), Value::String(a.into())]),
            None => Value::String(s),
        },
        // A tagged plain scalar is a string (`!Ref 2` names a parameter "2").
        (_, Shape::Scalar, Value::Number(n)) => Value::String(n.to_string()),
        (_, Shape::Scalar, Value::Bool(b)) => Value::String(b.to_string()),
        (_, Shape::Scalar, Value::Null) => Value::String(String::new()),
        (_, _, v) => v,
    };
    let mut map = Map::new();
    map.insert(key, value);
    Ok(Value::Object(map))
}

/// A scalar's value: plain scalars resolve as YAML's core schema does (null, booleans,
/// integers, floats); quoted and block scalars are strings.
fn scalar(text: &str, style: TScalarStyle, tag: &Option<Tag>) -> Value {
    if style != TScalarStyle::Plain || tag.as_ref().is_some_and(|t| t.handle == "!") {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let int_like = text
        .strip_prefix(['-', '+'])
        .unwrap_or(text)
        .bytes()
        .all(|b| b.is_ascii_digit());
    if int_like && text.bytes().any(|b| b.is_ascii_digit()) {
        // Leading zeros (`0123`, an account id, a version) stay strings.
        let digits = text.trim_start_matches(['-', '+']);
        if digits.len() > 1 && digits.starts_with('0') {
            return Value::String(text.to_string());
        }
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
        return Value::String(text.to_string());
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Value::Number(i.into());
        }
    }
    let float_like = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && text.contains('.')
        && text.bytes().any(|b| b.is_ascii_digit());
    if float_like {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_intrinsic_objects() {
        let doc = parse(
            "A: !Ref Param\nB: !GetAtt Key.Arn\nC: !Sub '${AWS::Region}-x'\nD: !Join [',', [a, !Ref P]]\nE: !If [IsProd, !Ref X, !Ref 'AWS::NoValue']\nF: !Equals [!Ref Env, prod]\nG: !Not [!Condition IsProd]\nH: !FindInMap [M, !Ref 'AWS::Region', K]\nI: !ImportValue shared\nJ: !Base64 hi\nK: !GetAZs ''\nL: !Select [0, !Split [',', 'a,b']]\nM: !And [!Condition A, !Or [!Condition B, !Condition C]]\n",
        )
        .expect("parses");
        assert_eq!(doc["A"], json!({"Ref": "Param"}));
        assert_eq!(doc["B"], json!({"Fn::GetAtt": ["Key", "Arn"]}));
        assert_eq!(doc["C"], json!({"Fn::Sub": "${AWS::Region}-x"}));
        assert_eq!(doc["D"], json!({"Fn::Join": [",", ["a", {"Ref": "P"}]]}));
        assert_eq!(
            doc["E"],
            json!({"Fn::If": ["IsProd", {"Ref": "X"}, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(doc["F"], json!({"Fn::Equals": [{"Ref": "Env"}, "prod"]}));
        assert_eq!(doc["G"], json!({"Fn::Not": [{"Condition": "IsProd"}]}));
        assert_eq!(
            doc["H"],
            json!({"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "K"]})
        );
        assert_eq!(doc["I"], json!({"Fn::ImportValue": "shared"}));
        assert_eq!(doc["J"], json!({"Fn::Base64": "hi"}));
        assert_eq!(doc["K"], json!({"Fn::GetAZs": ""}));
        assert_eq!(
            doc["L"],
            json!({"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]})
        );
        assert_eq!(
            doc["M"],
            json!({"Fn::And": [{"Condition": "A"}, {"Fn::Or": [{"Condition": "B"}, {"Condition": "C"}]}]})
        );
    }

    #[test]
    fn plain_scalars_resolve_and_quoted_ones_stay_strings() {
        let doc =
            parse("a: 7\nb: '7'\nc: true\nd: 2010-09-09\ne: ~\nf: 1.5\ng: 0123\nh: |\n  line\n")
                .expect("parses");
        assert_eq!(
            doc,
            json!({"a": 7, "b": "7", "c": true, "d": "2010-09-09", "e": null, "f": 1.5, "g": "0123", "h": "line\n"})
        );
    }

    #[test]
    fn anchors_and_aliases_are_followed() {
        let doc = parse("base: &tags\n  - {Key: a, Value: b}\nother: *tags\n").expect("parses");
        assert_eq!(doc["other"], doc["base"]);
    }

    #[test]
    fn syntax_errors_report_line_and_column() {
        let err = parse("Resources:\n  Key:\n    Type: [unclosed\n").expect_err("bad");
        assert_eq!(err.line, 4, "{err:?}");
        let err = parse("a: 1\n b: 2\n").expect_err("bad indentation");
        assert_eq!((err.line, err.column), (2, 3), "{err:?}");
        let err = parse("a: 1\na: 2\n").expect_err("duplicate");
        assert_eq!((err.line, err.column), (2, 1), "{err:?}");
    }
}
