//! Request-body validation against the AWS KMS service model.
//!
//! This module owns the botocore-style KMS service model compiled into the
//! binary (`model/kms-service-model.json`) and everything needed to check a
//! request body against an operation's input shape the way AWS does, before
//! any handler sees it:
//!
//! * **Type checks** (`SerializationException`): a JSON value of the wrong
//!   kind for a member, a fractional or out-of-range number for an
//!   integer/long, a blob that is not valid base64, a timestamp that is not
//!   epoch seconds, a body that is not a JSON object. The first one found
//!   (depth-first, in model member order) aborts validation.
//! * **Constraint checks** (`ValidationException`): required members, string
//!   / blob / list / map length, integer range, enum value sets and `pattern`
//!   regexes. Every violation in the request is collected, depth-first in
//!   model member order, and reported in AWS's words:
//!   `N validation error(s) detected: <item>; <item>` where each item reads
//!   `Value '<value>' at '<path>' failed to satisfy constraint: Member must <rule>`.
//!
//! Paths name members with their first letter lower-cased (`KeyId` → `keyId`);
//! list elements are `<list>.<1-based index>.member`, map entries are
//! `<map>.<key>`. Values of blobs and of sensitive shapes/members are never
//! echoed (`Value at '<path>' ...`). Members the model does not know are
//! ignored, so newer SDKs keep working.
//!
//! The model's patterns are Java regexes matched against the whole value
//! (`Matcher.matches()`); they are translated once, at load time, to the Rust
//! `regex` dialect (see [`java_regex_to_rust`]) and compiled anchored.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

#[cfg(test)]
use base64::alphabet;
#[cfg(test)]
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
#[cfg(test)]
use base64::Engine as _;
use regex::Regex;
use serde_json::{Map, Value};

/// The KMS service model, as compiled into the binary.
const MODEL_JSON: &str = include_str!("../../model/kms-service-model.json");

/// The enum value sets AWS's validation messages list in an order of their own (recorded
/// responses of AWS): the values AWS named, in its order, then the values the API gained
/// since the recording, in the model's order. A value of the model that is not here
/// (SM2, a key spec of the China Regions only, which AWS's message for us-east-1 does not
/// name) is still accepted; it is only not listed.
const AWS_ENUM_LISTS: &[(&str, &[&str])] = &[
    (
        "KeySpec",
        &[
            "RSA_2048",
            "ECC_NIST_P384",
            "ECC_NIST_P256",
            "ECC_NIST_P521",
            "HMAC_384",
            "RSA_3072",
            "ECC_SECG_P256K1",
            "RSA_4096",
            "SYMMETRIC_DEFAULT",
            "HMAC_256",
            "HMAC_224",
            "HMAC_512",
            // Added to the API since the recording.
            "ML_DSA_44",
            "ML_DSA_65",
            "ML_DSA_87",
            "ECC_NIST_EDWARDS25519",
        ],
    ),
    (
        "KeyUsageType",
        &[
            "ENCRYPT_DECRYPT",
            "SIGN_VERIFY",
            "GENERATE_VERIFY_MAC",
            // Added to the API since the recording.
            "KEY_AGREEMENT",
        ],
    ),
    (
        "MacAlgorithmSpec",
        &[
            "HMAC_SHA_384",
            "HMAC_SHA_256",
            "HMAC_SHA_224",
            "HMAC_SHA_512",
        ],
    ),
];

/// The bracketed list a message shows for the enum shape `name` with the model's
/// `values`: AWS's list where [`AWS_ENUM_LISTS`] has one (each of its values must be one
/// of the model's), the model's order otherwise.
fn enum_listed(name: &str, values: &[String]) -> Result<String, String> {
    let listed: Vec<&str> = match AWS_ENUM_LISTS.iter().find(|(shape, _)| *shape == name) {
        Some((_, aws)) => {
            if let Some(unknown) = aws.iter().find(|v| !values.iter().any(|m| m == *v)) {
                return Err(format!(
                    "shape {name}: AWS's enum list names {unknown}, which the model does not have"
                ));
            }
            aws.to_vec()
        }
        None => values.iter().map(String::as_str).collect(),
    };
    Ok(format!("[{}]", listed.join(", ")))
}

/// Deepest shape nesting followed before a request is rejected. The KMS
/// model is far shallower; this only guards against a recursive model.
const MAX_DEPTH: usize = 64;

/// Deepest JSON nesting rendered into a message before eliding with `...`.
const MAX_RENDER_DEPTH: usize = 16;

/// Base64 as AWS SDKs send blobs: standard alphabet, padding required (the decoder
/// [`base64_decoded_len`] is checked against).
#[cfg(test)]
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

static MODEL: LazyLock<ServiceModel> = LazyLock::new(|| {
    ServiceModel::load(MODEL_JSON).expect("the compiled-in KMS service model must be valid")
});

/// The length of the bytes `encoded` decodes to, if it is base64 as AWS SDKs send blobs
/// (standard alphabet, canonical padding, trailing bits allowed) — found without decoding.
fn base64_decoded_len(encoded: &str) -> Option<usize> {
    let b = encoded.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let padding = b.iter().rev().take_while(|&&c| c == b'=').count();
    if padding > 2 {
        return None;
    }
    let body = &b[..b.len() - padding];
    let alphabet = |c: &u8| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/';
    if !body.iter().all(alphabet) {
        return None;
    }
    Some(b.len() / 4 * 3 - padding)
}

/// Why a request body was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// AWS `ValidationException`, message as AWS words it.
    Validation(String),
    /// AWS `SerializationException`: the JSON has the wrong type for a member,
    /// invalid base64 for a blob, etc.
    Serialization(String),
}

/// The KMS service model, compiled into a table of shapes for validation.
pub struct ServiceModel {
    shapes: Vec<Shape>,
    /// Operation name → index of its input shape (`None`: no input).
    operations: HashMap<String, Option<usize>>,
}

struct Shape {
    kind: Kind,
    /// `"sensitive": true` on the shape.
    sensitive: bool,
    /// The shape's values must not be echoed in messages: it is sensitive, a
    /// blob, or an aggregate containing such a shape.
    hides_value: bool,
}

enum Kind {
    Structure {
        members: Vec<Member>,
    },
    List {
        member: usize,
        min: Option<u64>,
        max: Option<u64>,
    },
    Map {
        key: usize,
        value: usize,
        min: Option<u64>,
        max: Option<u64>,
    },
    String {
        min: Option<u64>,
        max: Option<u64>,
        pattern: Option<Pattern>,
        enum_values: Option<Vec<String>>,
        /// The values a message lists when a value is outside the set: AWS's order
        /// where AWS's messages show it ([`AWS_ENUM_LISTS`]), the model's otherwise.
        enum_listed: Option<String>,
    },
    Integer {
        /// `"an integer"` / `"a long"`, for messages.
        noun: &'static str,
        lowest: i64,
        highest: i64,
        min: Option<i64>,
        max: Option<i64>,
    },
    Float {
        noun: &'static str,
        min: Option<FloatBound>,
        max: Option<FloatBound>,
    },
    Boolean,
    Blob {
        min: Option<u64>,
        max: Option<u64>,
    },
    Timestamp,
    /// A type this validator does not know (e.g. `document`): accepted as is.
    Any,
}

struct Member {
    /// Name on the wire (`KeyId`).
    name: String,
    /// Name in error paths (`keyId`).
    path_name: String,
    shape: usize,
    required: bool,
    sensitive: bool,
}

struct Pattern {
    /// The pattern exactly as written in the model, for messages.
    source: String,
    /// The translated pattern, anchored at both ends.
    regex: Regex,
}

struct FloatBound {
    value: f64,
    text: String,
}

impl ServiceModel {
    /// The model compiled into the binary, parsed once.
    pub fn get() -> &'static ServiceModel {
        &MODEL
    }

    /// True when `op` (e.g. "CreateKey") is an operation of the model.
    pub fn has_operation(&self, op: &str) -> bool {
        self.operations.contains_key(op)
    }

    /// Checks a request body (already parsed JSON) against the operation's
    /// input shape.
    ///
    /// The body must be a JSON object for every operation. For an operation
    /// the model does not know there is nothing more to check (callers are
    /// expected to have answered `UnknownOperationException` already, see
    /// [`ServiceModel::has_operation`]).
    pub fn validate_input(&self, op: &str, input: &Value) -> Result<(), InputError> {
        if !input.is_object() {
            return Err(InputError::Serialization(format!(
                "The request body must be a JSON object, found {}",
                json_kind(input)
            )));
        }
        let Some(Some(shape)) = self.operations.get(op) else {
            return Ok(());
        };
        let mut checker = Checker {
            model: self,
            violations: Vec::new(),
        };
        checker.check(*shape, input, &At::Root, false, 0)?;
        if checker.violations.is_empty() {
            Ok(())
        } else {
            Err(InputError::Validation(summarize(&checker.violations)))
        }
    }

    /// Builds the validation tables from botocore-style model JSON.
    pub fn load(json: &str) -> Result<ServiceModel, String> {
        let root: Value =
            serde_json::from_str(json).map_err(|e| format!("model is not valid JSON: {e}"))?;
        let shape_defs = root
            .get("shapes")
            .and_then(Value::as_object)
            .ok_or("model has no `shapes` object")?;
        let index: HashMap<&str, usize> = shape_defs
            .keys()
            .enumerate()
            .map(|(i, name)| (name.as_str(), i))
            .collect();
        let mut shapes = shape_defs
            .iter()
            .map(|(name, def)| compile_shape(name, def, &index))
            .collect::<Result<Vec<_>, _>>()?;
        mark_hidden_values(&mut shapes);

        let operation_defs = root
            .get("operations")
            .and_then(Value::as_object)
            .ok_or("model has no `operations` object")?;
        let mut operations = HashMap::with_capacity(operation_defs.len());
        for (op, def) in operation_defs {
            let input = match def.get("input") {
                None => None,
                Some(input) => Some(resolve_ref(Some(input), &index, op)?),
            };
            operations.insert(op.clone(), input);
        }
        Ok(ServiceModel { shapes, operations })
    }
}

// ---------------------------------------------------------------------------
// Model loading
// ---------------------------------------------------------------------------

fn compile_shape(name: &str, def: &Value, index: &HashMap<&str, usize>) -> Result<Shape, String> {
    let ty = def
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("shape {name} has no type"))?;
    let sensitive = def.get("sensitive").and_then(Value::as_bool) == Some(true);
    let length = |key: &str| -> Result<Option<u64>, String> {
        match def.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                        .map(|f| f as u64)
                })
                .map(Some)
                .ok_or_else(|| format!("shape {name}: `{key}` is not a length")),
        }
    };
    let int_bound = |key: &str| -> Result<Option<i64>, String> {
        match def.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| format!("shape {name}: `{key}` is not an integer")),
        }
    };
    let float_bound = |key: &str| -> Result<Option<FloatBound>, String> {
        match def.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64().map(|value| FloatBound {
                value,
                text: n.to_string(),
            })),
            Some(_) => Err(format!("shape {name}: `{key}` is not a number")),
        }
    };
    let integer = |noun, lowest, highest| -> Result<Kind, String> {
        Ok(Kind::Integer {
            noun,
            lowest,
            highest,
            min: int_bound("min")?,
            max: int_bound("max")?,
        })
    };

    let enum_values: Option<Vec<String>> = match def.get("enum") {
        None => None,
        Some(values) => Some(
            values
                .as_array()
                .ok_or_else(|| format!("shape {name}: `enum` is not a list"))?
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("shape {name}: `enum` holds a non-string"))
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let kind = match ty {
        "structure" => {
            let required: HashSet<&str> = match def.get("required") {
                None => HashSet::new(),
                Some(list) => list
                    .as_array()
                    .ok_or_else(|| format!("shape {name}: `required` is not a list"))?
                    .iter()
                    .map(|m| {
                        m.as_str()
                            .ok_or_else(|| format!("shape {name}: `required` holds a non-string"))
                    })
                    .collect::<Result<_, _>>()?,
            };
            let mut members = Vec::new();
            if let Some(defs) = def.get("members") {
                let defs = defs
                    .as_object()
                    .ok_or_else(|| format!("shape {name}: `members` is not an object"))?;
                for (member_name, member_def) in defs {
                    members.push(Member {
                        name: member_name.clone(),
                        path_name: decapitalize(member_name),
                        shape: resolve_ref(Some(member_def), index, name)?,
                        required: required.contains(member_name.as_str()),
                        sensitive: member_def.get("sensitive").and_then(Value::as_bool)
                            == Some(true),
                    });
                }
            }
            Kind::Structure { members }
        }
        "list" => Kind::List {
            member: resolve_ref(def.get("member"), index, name)?,
            min: length("min")?,
            max: length("max")?,
        },
        "map" => Kind::Map {
            key: resolve_ref(def.get("key"), index, name)?,
            value: resolve_ref(def.get("value"), index, name)?,
            min: length("min")?,
            max: length("max")?,
        },
        "string" => Kind::String {
            min: length("min")?,
            max: length("max")?,
            pattern: match def.get("pattern") {
                None => None,
                Some(p) => {
                    let source = p
                        .as_str()
                        .ok_or_else(|| format!("shape {name}: `pattern` is not a string"))?;
                    Some(
                        compile_pattern(source)
                            .map_err(|e| format!("shape {name}: pattern {source:?}: {e}"))?,
                    )
                }
            },
            enum_values: enum_values.clone(),
            enum_listed: enum_values
                .as_deref()
                .map(|values| enum_listed(name, values))
                .transpose()?,
        },
        "byte" => integer("a byte", i64::from(i8::MIN), i64::from(i8::MAX))?,
        "short" => integer("a short", i64::from(i16::MIN), i64::from(i16::MAX))?,
        "integer" => integer("an integer", i64::from(i32::MIN), i64::from(i32::MAX))?,
        "long" => integer("a long", i64::MIN, i64::MAX)?,
        "float" | "double" => Kind::Float {
            noun: if ty == "float" { "a float" } else { "a double" },
            min: float_bound("min")?,
            max: float_bound("max")?,
        },
        "boolean" => Kind::Boolean,
        "blob" => Kind::Blob {
            min: length("min")?,
            max: length("max")?,
        },
        "timestamp" => Kind::Timestamp,
        _ => Kind::Any,
    };
    Ok(Shape {
        kind,
        sensitive,
        hides_value: false,
    })
}

/// Resolves a `{"shape": "Name"}` reference to a shape index.
fn resolve_ref(
    reference: Option<&Value>,
    index: &HashMap<&str, usize>,
    owner: &str,
) -> Result<usize, String> {
    let target = reference
        .and_then(|r| r.get("shape"))
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{owner}: missing shape reference"))?;
    index
        .get(target)
        .copied()
        .ok_or_else(|| format!("{owner}: unknown shape {target}"))
}

/// `KeyId` → `keyId`: how AWS names members in validation paths.
fn decapitalize(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Sets `hides_value` on every shape whose values must never be echoed.
fn mark_hidden_values(shapes: &mut [Shape]) {
    fn visit(i: usize, shapes: &[Shape], state: &mut [u8], hidden: &mut [bool]) -> bool {
        match state[i] {
            2 => return hidden[i],
            1 => return false, // a cycle: decided by the other shapes on it
            _ => {}
        }
        state[i] = 1;
        let shape = &shapes[i];
        let result = shape.sensitive
            || match &shape.kind {
                Kind::Blob { .. } => true,
                Kind::List { member, .. } => visit(*member, shapes, state, hidden),
                Kind::Map { key, value, .. } => {
                    visit(*key, shapes, state, hidden) || visit(*value, shapes, state, hidden)
                }
                Kind::Structure { members } => members
                    .iter()
                    .any(|m| m.sensitive || visit(m.shape, shapes, state, hidden)),
                _ => false,
            };
        state[i] = 2;
        hidden[i] = result;
        result
    }
    let mut state = vec![0u8; shapes.len()];
    let mut hidden = vec![false; shapes.len()];
    for i in 0..shapes.len() {
        visit(i, shapes, &mut state, &mut hidden);
    }
    for (shape, hides) in shapes.iter_mut().zip(hidden) {
        shape.hides_value = hides;
    }
}

fn compile_pattern(source: &str) -> Result<Pattern, String> {
    let translated = java_regex_to_rust(source)?;
    let regex = Regex::new(&format!(r"\A(?:{translated})\z")).map_err(|e| e.to_string())?;
    Ok(Pattern {
        source: source.to_owned(),
        regex,
    })
}

// ---------------------------------------------------------------------------
// Java regex → Rust regex
// ---------------------------------------------------------------------------

/// Translates a `java.util.regex` pattern into the Rust `regex` dialect with
/// the same meaning:
///
/// * `\uXXXX` (including surrogate pairs), `\xHH`, `\x{H..}`, `\0ooo`, `\cX`,
///   `\t \n \r \f \a \e` and escaped punctuation become literal characters;
/// * `\d \w \s` (and negations) keep Java's ASCII-only meaning;
/// * `.` keeps Java's meaning (any character but a line terminator);
/// * character classes follow Java's rules for where `-` is a range
///   operator (`[a-z0-9-_.]`: the second `-` is a literal), nested classes
///   are unions;
/// * `\Q...\E`, `(?:...)`, `(?<name>...)`, greedy and lazy quantifiers;
/// * the DOTALL flag `(?s)` (CloudTrail's model writes `(?s).*`): `.` matches
///   any character from there to the end of the pattern (Java ends it with the
///   enclosing group; the models use it only at the start).
///
/// Constructs with no Rust equivalent (look-around, back-references,
/// possessive quantifiers, atomic groups, other inline flags, class
/// intersection) are reported as errors rather than silently changed.
fn java_regex_to_rust(java: &str) -> Result<String, String> {
    let mut translator = JavaRegex {
        chars: java.chars().collect(),
        pos: 0,
        out: String::with_capacity(java.len() * 2),
        dotall: false,
    };
    translator.sequence()?;
    Ok(translator.out)
}

struct JavaRegex {
    chars: Vec<char>,
    pos: usize,
    out: String,
    /// `(?s)` seen: `.` matches line terminators too.
    dotall: bool,
}

/// One parsed escape sequence.
enum Escape {
    /// A single literal character.
    Char(char),
    /// A run of literal characters (`\Q...\E`).
    Literal(String),
    /// A predefined class, as a bracketed Rust class (usable inside classes).
    Class(&'static str),
    /// Rust syntax to emit verbatim (`\p{..}`).
    ClassRaw(String),
    /// A zero-width assertion (`\b`, `\A`, ...), invalid inside classes.
    Assertion(&'static str),
}

impl JavaRegex {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn sequence(&mut self) -> Result<(), String> {
        while let Some(c) = self.bump() {
            match c {
                '\\' => match self.escape()? {
                    Escape::Char(ch) => push_literal(&mut self.out, ch),
                    Escape::Literal(s) => s.chars().for_each(|ch| push_literal(&mut self.out, ch)),
                    Escape::Class(class) => self.out.push_str(class),
                    Escape::ClassRaw(raw) => self.out.push_str(&raw),
                    Escape::Assertion(a) => self.out.push_str(a),
                },
                '[' => self.class()?,
                '.' if self.dotall => self.out.push_str("(?s:.)"),
                '.' => self.out.push_str(r"[^\n\r\x{85}\x{2028}\x{2029}]"),
                '(' => self.group_open()?,
                '*' | '+' | '?' => {
                    self.out.push(c);
                    self.quantifier_suffix()?;
                }
                '{' => self.counted_quantifier()?,
                '^' | '$' | '|' | ')' => self.out.push(c),
                other => push_literal(&mut self.out, other),
            }
        }
        Ok(())
    }

    fn group_open(&mut self) -> Result<(), String> {
        if self.peek() != Some('?') {
            self.out.push('(');
            return Ok(());
        }
        match (self.peek_at(1), self.peek_at(2)) {
            (Some(':'), _) => {
                self.pos += 2;
                self.out.push_str("(?:");
                Ok(())
            }
            (Some('<'), Some(c)) if c.is_ascii_alphabetic() => {
                self.pos += 2;
                self.out.push_str("(?P<");
                Ok(())
            }
            (Some('s'), Some(')')) => {
                self.pos += 3;
                self.dotall = true;
                Ok(())
            }
            _ => Err("look-around, atomic groups and inline flags are not supported".into()),
        }
    }

    /// After `*`, `+`, `?` or `{n,m}`: a lazy `?` is kept, a possessive `+`
    /// has no Rust equivalent.
    fn quantifier_suffix(&mut self) -> Result<(), String> {
        match self.peek() {
            Some('?') => {
                self.pos += 1;
                self.out.push('?');
                Ok(())
            }
            Some('+') => Err("possessive quantifiers are not supported".into()),
            _ => Ok(()),
        }
    }

    fn counted_quantifier(&mut self) -> Result<(), String> {
        let mut body = String::new();
        loop {
            match self.bump() {
                Some('}') => break,
                Some(c) if c.is_ascii_digit() || c == ',' => body.push(c),
                _ => return Err("malformed {n,m} quantifier".into()),
            }
        }
        let mut parts = body.splitn(2, ',');
        let low_ok = parts.next().is_some_and(|low| !low.is_empty());
        if !low_ok {
            return Err("malformed {n,m} quantifier".into());
        }
        self.out.push('{');
        self.out.push_str(&body);
        self.out.push('}');
        self.quantifier_suffix()
    }

    /// A character class; the opening `[` is consumed.
    fn class(&mut self) -> Result<(), String> {
        self.out.push('[');
        if self.peek() == Some('^') {
            self.pos += 1;
            self.out.push('^');
        }
        let mut first = true;
        loop {
            let c = self.bump().ok_or("unclosed character class")?;
            match c {
                ']' if !first => {
                    self.out.push(']');
                    return Ok(());
                }
                '[' => self.class()?,
                '&' if self.peek() == Some('&') => {
                    return Err("character class intersection is not supported".into())
                }
                _ => {
                    let atom = if c == '\\' {
                        self.escape()?
                    } else {
                        Escape::Char(c)
                    };
                    match atom {
                        Escape::Char(start) => self.class_char_or_range(start)?,
                        Escape::Literal(s) => {
                            s.chars().for_each(|ch| push_literal(&mut self.out, ch))
                        }
                        Escape::Class(class) => self.out.push_str(class),
                        Escape::ClassRaw(raw) => self.out.push_str(&raw),
                        Escape::Assertion(_) => {
                            return Err("assertions are not allowed in a character class".into())
                        }
                    }
                }
            }
            first = false;
        }
    }

    /// Java: a single character followed by `-` and anything but `]` or `[`
    /// starts a range; otherwise the `-` is a literal on its own.
    fn class_char_or_range(&mut self, start: char) -> Result<(), String> {
        let is_range =
            self.peek() == Some('-') && !matches!(self.peek_at(1), None | Some(']') | Some('['));
        if !is_range {
            push_literal(&mut self.out, start);
            return Ok(());
        }
        self.pos += 1; // the '-'
        let end = match self.bump() {
            Some('\\') => match self.escape()? {
                Escape::Char(end) => end,
                _ => return Err("illegal character range".into()),
            },
            Some(end) => end,
            None => return Err("unclosed character class".into()),
        };
        if end < start {
            return Err("illegal character range".into());
        }
        push_literal(&mut self.out, start);
        self.out.push('-');
        push_literal(&mut self.out, end);
        Ok(())
    }

    /// An escape sequence; the backslash is consumed.
    fn escape(&mut self) -> Result<Escape, String> {
        let c = self.bump().ok_or("trailing backslash")?;
        let simple = |ch: char| Ok(Escape::Char(ch));
        match c {
            't' => simple('\t'),
            'n' => simple('\n'),
            'r' => simple('\r'),
            'f' => simple('\u{0C}'),
            'a' => simple('\u{07}'),
            'e' => simple('\u{1B}'),
            'd' => Ok(Escape::Class("[0-9]")),
            'D' => Ok(Escape::Class("[^0-9]")),
            'w' => Ok(Escape::Class("[0-9A-Za-z_]")),
            'W' => Ok(Escape::Class("[^0-9A-Za-z_]")),
            's' => Ok(Escape::Class(r"[\t\n\x0B\x0C\r ]")),
            'S' => Ok(Escape::Class(r"[^\t\n\x0B\x0C\r ]")),
            'b' => Ok(Escape::Assertion(r"\b")),
            'B' => Ok(Escape::Assertion(r"\B")),
            'A' => Ok(Escape::Assertion(r"\A")),
            'z' => Ok(Escape::Assertion(r"\z")),
            'u' => {
                let unit = self.hex_digits(4)?;
                if (0xD800..0xDC00).contains(&unit)
                    && self.peek() == Some('\\')
                    && self.peek_at(1) == Some('u')
                {
                    let save = self.pos;
                    self.pos += 2;
                    let low = self.hex_digits(4)?;
                    if (0xDC00..0xE000).contains(&low) {
                        let cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        return char::from_u32(cp)
                            .map(Escape::Char)
                            .ok_or_else(|| "invalid surrogate pair".to_string());
                    }
                    self.pos = save;
                }
                char::from_u32(unit)
                    .map(Escape::Char)
                    .ok_or_else(|| "unpaired surrogate in \\u escape".to_string())
            }
            'x' => {
                if self.peek() == Some('{') {
                    self.pos += 1;
                    let mut value: u32 = 0;
                    let mut digits = 0;
                    loop {
                        let d = self.bump().ok_or("unclosed \\x{...}")?;
                        if d == '}' && digits > 0 {
                            break;
                        }
                        let v = d.to_digit(16).ok_or("invalid hex digit in \\x{...}")?;
                        value = value
                            .checked_mul(16)
                            .and_then(|x| x.checked_add(v))
                            .ok_or("\\x{...} out of range")?;
                        digits += 1;
                    }
                    char::from_u32(value)
                        .map(Escape::Char)
                        .ok_or_else(|| "\\x{...} is not a character".to_string())
                } else {
                    let v = self.hex_digits(2)?;
                    char::from_u32(v)
                        .map(Escape::Char)
                        .ok_or_else(|| "invalid \\x escape".to_string())
                }
            }
            '0' => {
                // \0n, \0nn, \0mnn (m <= 3)
                let mut value: u32 = 0;
                let mut digits = 0;
                while let Some(d) = self.peek().and_then(|d| d.to_digit(8)) {
                    if digits == 3 || (digits == 2 && value > 0o37) {
                        break;
                    }
                    value = value * 8 + d;
                    digits += 1;
                    self.pos += 1;
                }
                if digits == 0 {
                    return Err("illegal octal escape".into());
                }
                char::from_u32(value)
                    .map(Escape::Char)
                    .ok_or_else(|| "invalid octal escape".to_string())
            }
            'c' => {
                let ch = self.bump().ok_or("illegal control escape")?;
                char::from_u32(u32::from(ch) ^ 64)
                    .map(Escape::Char)
                    .ok_or_else(|| "illegal control escape".to_string())
            }
            'Q' => {
                let mut literal = String::new();
                while let Some(ch) = self.bump() {
                    if ch == '\\' && self.peek() == Some('E') {
                        self.pos += 1;
                        return Ok(Escape::Literal(literal));
                    }
                    literal.push(ch);
                }
                Ok(Escape::Literal(literal))
            }
            'p' | 'P' => {
                let mut raw = format!("\\{c}");
                match self.bump() {
                    Some('{') => {
                        raw.push('{');
                        loop {
                            let ch = self.bump().ok_or("unclosed \\p{...}")?;
                            raw.push(ch);
                            if ch == '}' {
                                break;
                            }
                        }
                    }
                    Some(ch) if ch.is_ascii_alphabetic() => raw.push(ch),
                    _ => return Err("malformed \\p escape".into()),
                }
                Ok(Escape::ClassRaw(raw))
            }
            c if c.is_ascii_digit() => Err("back-references are not supported".into()),
            c if c.is_ascii_alphabetic() => Err(format!("unsupported escape \\{c}")),
            other => simple(other),
        }
    }

    fn hex_digits(&mut self, count: usize) -> Result<u32, String> {
        let mut value = 0u32;
        for _ in 0..count {
            let d = self
                .bump()
                .and_then(|d| d.to_digit(16))
                .ok_or("invalid hex escape")?;
            value = value * 16 + d;
        }
        Ok(value)
    }
}

/// Emits one literal character, escaped unless it is plain ASCII
/// alphanumeric, so it means itself both inside and outside classes.
fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", u32::from(c)));
    }
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

struct Checker<'m> {
    model: &'m ServiceModel,
    violations: Vec<String>,
}

impl Checker<'_> {
    /// Checks a non-null `value` against shape `shape_ix` at `path`.
    /// Constraint violations are collected; the first type mismatch is
    /// returned as a `SerializationException`.
    fn check(
        &mut self,
        shape_ix: usize,
        value: &Value,
        at: &At<'_>,
        member_sensitive: bool,
        depth: usize,
    ) -> Result<(), InputError> {
        if depth > MAX_DEPTH {
            return Err(InputError::Serialization(format!(
                "Value at '{}' is nested too deeply",
                at.render()
            )));
        }
        let model = self.model;
        let shape = &model.shapes[shape_ix];
        let hidden = member_sensitive || shape.hides_value;
        match &shape.kind {
            Kind::Structure { members } => {
                let Value::Object(object) = value else {
                    return Err(type_error(
                        &at.render(),
                        value,
                        hidden,
                        "a structure",
                        expected_found("a JSON object", value),
                    ));
                };
                for member in members {
                    let member_at = At::Name(at, &member.path_name);
                    match object.get(&member.name) {
                        None | Some(Value::Null) => {
                            if member.required {
                                self.not_null(&member_at);
                            }
                        }
                        Some(v) => {
                            self.check(member.shape, v, &member_at, member.sensitive, depth + 1)?
                        }
                    }
                }
            }
            Kind::List { member, min, max } => {
                let Value::Array(items) = value else {
                    return Err(type_error(
                        &at.render(),
                        value,
                        hidden,
                        "a list",
                        expected_found("a JSON array", value),
                    ));
                };
                self.length(at, value, hidden, items.len(), *min, *max);
                for (i, item) in items.iter().enumerate() {
                    let item_at = At::Element(at, i + 1);
                    if item.is_null() {
                        self.not_null(&item_at);
                    } else {
                        self.check(*member, item, &item_at, false, depth + 1)?;
                    }
                }
            }
            Kind::Map {
                key,
                value: value_shape,
                min,
                max,
            } => {
                let Value::Object(entries) = value else {
                    return Err(type_error(
                        &at.render(),
                        value,
                        hidden,
                        "a map",
                        expected_found("a JSON object", value),
                    ));
                };
                self.length(at, value, hidden, entries.len(), *min, *max);
                self.map_entries(*key, *value_shape, entries, at, depth)?;
            }
            Kind::String { .. } => {
                let Value::String(s) = value else {
                    return Err(type_error(
                        &at.render(),
                        value,
                        hidden,
                        "a string",
                        expected_found("a JSON string", value),
                    ));
                };
                self.string(shape_ix, s, at, hidden);
            }
            Kind::Integer {
                noun,
                lowest,
                highest,
                min,
                max,
            } => {
                let Value::Number(n) = value else {
                    return Err(type_error(
                        &at.render(),
                        value,
                        hidden,
                        noun,
                        expected_found("a JSON number", value),
                    ));
                };
                let number = match n.as_i64() {
                    Some(i) if (*lowest..=*highest).contains(&i) => i,
                    Some(_) => {
                        return Err(type_error(
                            &at.render(),
                            value,
                            hidden,
                            noun,
                            "out of range",
                        ))
                    }
                    None => {
                        let detail = match n.as_f64() {
                            _ if n.is_u64() => "out of range",
                            Some(f) if f.fract() != 0.0 => "not a whole number",
                            _ => "expected an integer without a fraction or exponent",
                        };
                        return Err(type_error(&at.render(), value, hidden, noun, detail));
                    }
                };
                let shown = if hidden { None } else { Some(n.to_string()) };
                if let Some(min) = min.filter(|m| number < *m) {
                    self.violation(
                        at,
                        shown.as_deref(),
                        format!("have value greater than or equal to {min}"),
                    );
                }
                if let Some(max) = max.filter(|m| number > *m) {
                    self.violation(
                        at,
                        shown.as_deref(),
                        format!("have value less than or equal to {max}"),
                    );
                }
            }
            Kind::Float { noun, min, max } => {
                let Some(number) = value.as_f64() else {
                    return Err(type_error(
                        &at.render(),
                        value,
                        hidden,
                        noun,
                        expected_found("a JSON number", value),
                    ));
                };
                let shown = if hidden { None } else { Some(render(value)) };
                if let Some(min) = min.as_ref().filter(|m| number < m.value) {
                    self.violation(
                        at,
                        shown.as_deref(),
                        format!("have value greater than or equal to {}", min.text),
                    );
                }
                if let Some(max) = max.as_ref().filter(|m| number > m.value) {
                    self.violation(
                        at,
                        shown.as_deref(),
                        format!("have value less than or equal to {}", max.text),
                    );
                }
            }
            Kind::Boolean => {
                if !value.is_boolean() {
                    return Err(type_error(
                        &at.render(),
                        value,
                        hidden,
                        "a boolean",
                        expected_found("true or false", value),
                    ));
                }
            }
            Kind::Blob { min, max } => {
                let Value::String(encoded) = value else {
                    return Err(type_error(
                        &at.render(),
                        value,
                        true,
                        "a blob",
                        expected_found("a base64-encoded JSON string", value),
                    ));
                };
                // Measured without decoding: a blob may be a plaintext, and a decoded copy
                // in a plain Vec would be freed unwiped.
                let decoded_len = base64_decoded_len(encoded).ok_or_else(|| {
                    type_error(
                        &at.render(),
                        value,
                        true,
                        "a blob",
                        "invalid base64 (expected the standard alphabet with padding)",
                    )
                })?;
                self.length(at, value, true, decoded_len, *min, *max);
            }
            Kind::Timestamp => {
                if !value.is_number() {
                    return Err(type_error(
                        &at.render(),
                        value,
                        hidden,
                        "a timestamp",
                        expected_found("epoch seconds as a JSON number", value),
                    ));
                }
            }
            Kind::Any => {}
        }
        Ok(())
    }

    fn map_entries(
        &mut self,
        key_shape: usize,
        value_shape: usize,
        entries: &Map<String, Value>,
        at: &At<'_>,
        depth: usize,
    ) -> Result<(), InputError> {
        let model = self.model;
        for (key, entry) in entries {
            let entry_at = At::Name(at, key);
            match &model.shapes[key_shape].kind {
                Kind::String { .. } => {
                    let hidden = model.shapes[key_shape].hides_value;
                    self.string(key_shape, key, &entry_at, hidden);
                }
                Kind::Any => {}
                _ => {
                    return Err(InputError::Serialization(format!(
                        "Map key at '{}' cannot be converted: the model's map key is not a string",
                        entry_at.render()
                    )))
                }
            }
            if entry.is_null() {
                self.not_null(&entry_at);
            } else {
                self.check(value_shape, entry, &entry_at, false, depth + 1)?;
            }
        }
        Ok(())
    }

    /// Length, pattern and enum constraints of a string shape.
    fn string(&mut self, shape_ix: usize, s: &str, at: &At<'_>, hidden: bool) {
        let model = self.model;
        let Kind::String {
            min,
            max,
            pattern,
            enum_values,
            enum_listed,
        } = &model.shapes[shape_ix].kind
        else {
            return;
        };
        let shown = if hidden { None } else { Some(s) };
        if min.is_some() || max.is_some() {
            let len = s.chars().count();
            self.length_rule(at, shown, len, *min, *max);
        }
        if let Some(pattern) = pattern {
            if !pattern.regex.is_match(s) {
                self.violation(
                    at,
                    shown,
                    format!("satisfy regular expression pattern: {}", pattern.source),
                );
            }
        }
        if let (Some(values), Some(listed)) = (enum_values, enum_listed) {
            if !values.iter().any(|v| v == s) {
                self.violation(at, shown, format!("satisfy enum value set: {listed}"));
            }
        }
    }

    /// Length constraints of a list, map or blob (`value` rendered lazily).
    fn length(
        &mut self,
        at: &At<'_>,
        value: &Value,
        hidden: bool,
        len: usize,
        min: Option<u64>,
        max: Option<u64>,
    ) {
        let too_short = min.is_some_and(|m| (len as u64) < m);
        let too_long = max.is_some_and(|m| (len as u64) > m);
        if too_short || too_long {
            let shown = if hidden { None } else { Some(render(value)) };
            self.length_rule(at, shown.as_deref(), len, min, max);
        }
    }

    fn length_rule(
        &mut self,
        at: &At<'_>,
        shown: Option<&str>,
        len: usize,
        min: Option<u64>,
        max: Option<u64>,
    ) {
        let len = len as u64;
        if let Some(min) = min.filter(|m| len < *m) {
            self.violation(
                at,
                shown,
                format!("have length greater than or equal to {min}"),
            );
        }
        if let Some(max) = max.filter(|m| len > *m) {
            self.violation(
                at,
                shown,
                format!("have length less than or equal to {max}"),
            );
        }
    }

    fn not_null(&mut self, at: &At<'_>) {
        let path = at.render();
        self.violations.push(format!(
            "Value null at '{path}' failed to satisfy constraint: Member must not be null"
        ));
    }

    fn violation(&mut self, at: &At<'_>, shown: Option<&str>, rule: String) {
        let path = at.render();
        let item = match shown {
            Some(v) => {
                format!("Value '{v}' at '{path}' failed to satisfy constraint: Member must {rule}")
            }
            None => format!("Value at '{path}' failed to satisfy constraint: Member must {rule}"),
        };
        self.violations.push(item);
    }
}

/// `N validation error(s) detected: a; b`.
fn summarize(violations: &[String]) -> String {
    let n = violations.len();
    let plural = if n == 1 { "" } else { "s" };
    format!(
        "{n} validation error{plural} detected: {}",
        violations.join("; ")
    )
}

/// Where a value is in the request body, rendered into a path (`keyId`,
/// `tags.1.member.tagKey`, `encryptionContext.purpose`) only when a message needs one:
/// a valid request builds no path string.
#[derive(Clone, Copy)]
enum At<'a> {
    /// The request itself (the empty path).
    Root,
    /// A member of a structure (its path name) or an entry of a map (its key).
    Name(&'a At<'a>, &'a str),
    /// An element of a list: `<list>.<1-based index>.member`.
    Element(&'a At<'a>, usize),
}

impl At<'_> {
    fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            At::Root => {}
            At::Name(parent, segment) => {
                parent.render_into(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(segment);
            }
            At::Element(parent, index) => {
                parent.render_into(out);
                use std::fmt::Write as _;
                let _ = write!(out, ".{index}.member");
            }
        }
    }
}

/// A `SerializationException` for a value of the wrong JSON type.
/// Scalars are quoted unless the member is sensitive or a blob.
fn type_error(
    path: &str,
    value: &Value,
    hidden: bool,
    expected: &str,
    detail: impl Into<String>,
) -> InputError {
    let detail = detail.into();
    let scalar = matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_));
    InputError::Serialization(if scalar && !hidden {
        format!(
            "Value '{}' at '{path}' cannot be converted to {expected}: {detail}",
            render(value)
        )
    } else {
        format!("Value at '{path}' cannot be converted to {expected}: {detail}")
    })
}

fn expected_found(expected: &str, value: &Value) -> String {
    format!("expected {expected}, found {}", json_kind(value))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a JSON boolean",
        Value::Number(_) => "a JSON number",
        Value::String(_) => "a JSON string",
        Value::Array(_) => "a JSON array",
        Value::Object(_) => "a JSON object",
    }
}

/// A value as AWS shows it in messages: strings as-is, numbers in their JSON
/// text, lists as `[a, b]`, maps/structures as `{k=v, k2=v2}`.
fn render(value: &Value) -> String {
    let mut out = String::new();
    render_into(value, &mut out, 0);
    out
}

fn render_into(value: &Value, out: &mut String, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            if depth >= MAX_RENDER_DEPTH {
                out.push_str("[...]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_into(item, out, depth + 1);
            }
            out.push(']');
        }
        Value::Object(entries) => {
            if depth >= MAX_RENDER_DEPTH {
                out.push_str("{...}");
                return;
            }
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                render_into(v, out, depth + 1);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model() -> &'static ServiceModel {
        ServiceModel::get()
    }

    fn validation(op: &str, body: Value) -> String {
        match model().validate_input(op, &body) {
            Err(InputError::Validation(message)) => message,
            other => panic!("expected a ValidationException for {op} {body}, got {other:?}"),
        }
    }

    fn serialization(op: &str, body: Value) -> String {
        match model().validate_input(op, &body) {
            Err(InputError::Serialization(message)) => message,
            other => panic!("expected a SerializationException for {op} {body}, got {other:?}"),
        }
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    // --- Recorded AWS responses, reproduced exactly -----------------------

    #[test]
    fn generate_random_zero_bytes_is_below_minimum() {
        assert_eq!(
            validation("GenerateRandom", json!({"NumberOfBytes": 0})),
            "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy \
             constraint: Member must have value greater than or equal to 1"
        );
    }

    #[test]
    fn generate_random_1025_bytes_is_above_maximum() {
        assert_eq!(
            validation("GenerateRandom", json!({"NumberOfBytes": 1025})),
            "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy \
             constraint: Member must have value less than or equal to 1024"
        );
    }

    #[test]
    fn encrypt_plaintext_of_4097_bytes_is_too_long_and_not_echoed() {
        let body = json!({"KeyId": "alias/test", "Plaintext": b64(&[7u8; 4097])});
        assert_eq!(
            validation("Encrypt", body),
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: \
             Member must have length less than or equal to 4096"
        );
    }

    #[test]
    fn create_key_tag_value_of_257_chars_is_too_long() {
        let value = "v".repeat(257);
        let body = json!({"Tags": [{"TagKey": "k", "TagValue": value}]});
        assert_eq!(
            validation("CreateKey", body),
            format!(
                "1 validation error detected: Value '{value}' at 'tags.1.member.tagValue' \
                 failed to satisfy constraint: Member must have length less than or equal to 256"
            )
        );
    }

    #[test]
    fn create_key_tag_key_of_129_chars_is_too_long() {
        let key = "a".repeat(129);
        let body = json!({"Tags": [{"TagKey": key, "TagValue": "v"}]});
        assert_eq!(
            validation("CreateKey", body),
            format!(
                "1 validation error detected: Value '{key}' at 'tags.1.member.tagKey' \
                 failed to satisfy constraint: Member must have length less than or equal to 128"
            )
        );
    }

    // --- The rules -----------------------------------------------------------

    #[test]
    fn missing_required_member_must_not_be_null() {
        assert_eq!(
            validation("Encrypt", json!({"Plaintext": b64(b"hello")})),
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: \
             Member must not be null"
        );
    }

    #[test]
    fn json_null_for_a_required_member_counts_as_missing() {
        assert_eq!(
            validation(
                "Encrypt",
                json!({"KeyId": null, "Plaintext": b64(b"hello")})
            ),
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: \
             Member must not be null"
        );
    }

    #[test]
    fn json_null_for_an_optional_member_is_absent() {
        let body = json!({"KeyId": "k", "Plaintext": b64(b"x"), "GrantTokens": null});
        assert_eq!(model().validate_input("Encrypt", &body), Ok(()));
    }

    #[test]
    fn required_member_inside_a_list_element() {
        assert_eq!(
            validation("CreateKey", json!({"Tags": [{"TagKey": "k"}]})),
            "1 validation error detected: Value null at 'tags.1.member.tagValue' failed to \
             satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn enum_value_outside_the_set_lists_aws_order() {
        // As AWS's recorded message, with the key specs added since at the end.
        assert_eq!(
            validation("CreateKey", json!({"KeySpec": "FOO"})),
            "1 validation error detected: Value 'FOO' at 'keySpec' failed to satisfy \
             constraint: Member must satisfy enum value set: [RSA_2048, ECC_NIST_P384, \
             ECC_NIST_P256, ECC_NIST_P521, HMAC_384, RSA_3072, ECC_SECG_P256K1, RSA_4096, \
             SYMMETRIC_DEFAULT, HMAC_256, HMAC_224, HMAC_512, ML_DSA_44, ML_DSA_65, \
             ML_DSA_87, ECC_NIST_EDWARDS25519]"
        );
        assert_eq!(
            validation(
                "GenerateMac",
                json!({"KeyId": "k", "Message": "bQ==", "MacAlgorithm": "X"})
            ),
            "1 validation error detected: Value 'X' at 'macAlgorithm' failed to satisfy \
             constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, \
             HMAC_SHA_224, HMAC_SHA_512]"
        );
        // A value AWS does not list is still a valid value.
        assert!(ServiceModel::get()
            .validate_input("CreateKey", &json!({"KeySpec": "SM2"}))
            .is_ok());
        // An enum AWS's messages never showed keeps the model's order.
        assert!(validation("CreateKey", json!({"Origin": "X"}))
            .ends_with("Member must satisfy enum value set: [AWS_KMS, EXTERNAL, AWS_CLOUDHSM, EXTERNAL_KEY_STORE]"));
    }

    #[test]
    fn aws_enum_lists_name_only_values_of_the_model() {
        let values = vec!["A".to_string(), "B".to_string()];
        assert_eq!(enum_listed("Other", &values).as_deref(), Ok("[A, B]"));
        assert!(enum_listed("KeyUsageType", &values)
            .unwrap_err()
            .contains("names ENCRYPT_DECRYPT"));
    }

    #[test]
    fn pattern_mismatch_quotes_the_model_pattern() {
        let body = json!({"AliasName": "bad name!", "TargetKeyId": "1234abcd"});
        assert_eq!(
            validation("CreateAlias", body),
            "1 validation error detected: Value 'bad name!' at 'aliasName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        );
    }

    #[test]
    fn two_missing_members_are_both_reported_in_model_order() {
        assert_eq!(
            validation("Encrypt", json!({})),
            "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: \
             Member must not be null; Value null at 'plaintext' failed to satisfy constraint: \
             Member must not be null"
        );
    }

    #[test]
    fn two_violations_on_different_members_in_model_order() {
        let body = json!({"Tags": [{"TagKey": "", "TagValue": "v"}], "KeySpec": "FOO"});
        let message = validation("CreateKey", body);
        assert!(
            message.starts_with(
                "2 validation errors detected: Value 'FOO' at 'keySpec' failed to satisfy \
                 constraint: Member must satisfy enum value set: [RSA_2048, "
            ),
            "{message}"
        );
        assert!(
            message.ends_with(
                "; Value '' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must \
                 have length greater than or equal to 1"
            ),
            "{message}"
        );
    }

    #[test]
    fn one_member_can_violate_length_and_pattern_at_once() {
        let body = json!({"AliasName": "", "TargetKeyId": "k"});
        assert_eq!(
            validation("CreateAlias", body),
            "2 validation errors detected: Value '' at 'aliasName' failed to satisfy \
             constraint: Member must have length greater than or equal to 1; Value '' at \
             'aliasName' failed to satisfy constraint: Member must satisfy regular expression \
             pattern: ^[a-zA-Z0-9:/_-]+$"
        );
    }

    #[test]
    fn list_with_too_many_elements_shows_the_list() {
        let tokens: Vec<String> = (1..=11).map(|i| format!("t{i}")).collect();
        let body = json!({"KeyId": "k", "Plaintext": b64(b"x"), "GrantTokens": tokens});
        assert_eq!(
            validation("Encrypt", body),
            "1 validation error detected: Value '[t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11]' \
             at 'grantTokens' failed to satisfy constraint: Member must have length less than \
             or equal to 10"
        );
    }

    #[test]
    fn scalar_list_elements_are_addressed_as_index_member() {
        let body = json!({"KeyId": "k", "Plaintext": b64(b"x"), "GrantTokens": ["ok", ""]});
        assert_eq!(
            validation("Encrypt", body),
            "1 validation error detected: Value '' at 'grantTokens.2.member' failed to satisfy \
             constraint: Member must have length greater than or equal to 1"
        );
    }

    #[test]
    fn string_length_counts_characters_not_bytes() {
        // 256 two-byte characters: 512 bytes of UTF-8 but within TagValue's 256.
        let body = json!({"Tags": [{"TagKey": "k", "TagValue": "é".repeat(256)}]});
        assert_eq!(model().validate_input("CreateKey", &body), Ok(()));
    }

    #[test]
    fn blob_length_counts_decoded_bytes() {
        let body = json!({"KeyId": "k", "Plaintext": b64(&[0u8; 4096])});
        assert_eq!(model().validate_input("Encrypt", &body), Ok(()));
        let body = json!({"KeyId": "k", "Plaintext": ""});
        assert_eq!(
            validation("Encrypt", body),
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: \
             Member must have length greater than or equal to 1"
        );
    }

    #[test]
    fn sensitive_string_values_are_not_echoed() {
        let body =
            json!({"CustomKeyStoreId": "cks-1234567890abcdef0", "KeyStorePassword": "short"});
        assert_eq!(
            validation("UpdateCustomKeyStore", body),
            "1 validation error detected: Value at 'keyStorePassword' failed to satisfy \
             constraint: Member must have length greater than or equal to 7"
        );
    }

    #[test]
    fn nested_structure_members_are_dotted() {
        let body = json!({
            "CustomKeyStoreId": "cks-1234567890abcdef0",
            "XksProxyAuthenticationCredential": {"AccessKeyId": "ABCDEFGHIJKLMNOPQRST"}
        });
        assert_eq!(
            validation("UpdateCustomKeyStore", body),
            "1 validation error detected: Value null at \
             'xksProxyAuthenticationCredential.rawSecretAccessKey' failed to satisfy \
             constraint: Member must not be null"
        );
    }

    #[test]
    fn map_values_are_addressed_by_key() {
        let body =
            json!({"KeyId": "k", "Plaintext": b64(b"x"), "EncryptionContext": {"purpose": 5}});
        assert_eq!(
            serialization("Encrypt", body),
            "Value '5' at 'encryptionContext.purpose' cannot be converted to a string: \
             expected a JSON string, found a JSON number"
        );
    }

    #[test]
    fn unknown_members_are_ignored() {
        let body = json!({"Limit": 10, "SomeFutureField": {"deep": [1, 2, 3]}});
        assert_eq!(model().validate_input("ListKeys", &body), Ok(()));
    }

    #[test]
    fn valid_requests_pass() {
        let create_key = json!({
            "Description": "test key",
            "KeyUsage": "ENCRYPT_DECRYPT",
            "KeySpec": "SYMMETRIC_DEFAULT",
            "Origin": "AWS_KMS",
            "MultiRegion": false,
            "BypassPolicyLockoutSafetyCheck": false,
            "Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}",
            "Tags": [{"TagKey": "team", "TagValue": "crypto"}, {"TagKey": "empty", "TagValue": ""}]
        });
        assert_eq!(model().validate_input("CreateKey", &create_key), Ok(()));
        assert_eq!(model().validate_input("CreateKey", &json!({})), Ok(()));

        let encrypt = json!({
            "KeyId": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "Plaintext": b64(b"hello world"),
            "EncryptionContext": {"purpose": "test", "": ""},
            "GrantTokens": ["token"],
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"
        });
        assert_eq!(model().validate_input("Encrypt", &encrypt), Ok(()));

        assert_eq!(model().validate_input("ListKeys", &json!({})), Ok(()));
        let list_keys = json!({"Limit": 1000, "Marker": "opaque-marker"});
        assert_eq!(model().validate_input("ListKeys", &list_keys), Ok(()));

        let schedule = json!({"KeyId": "k", "PendingWindowInDays": 7});
        assert_eq!(
            model().validate_input("ScheduleKeyDeletion", &schedule),
            Ok(())
        );
    }

    #[test]
    fn operations_of_the_model() {
        assert!(model().has_operation("CreateKey"));
        assert!(model().has_operation("Encrypt"));
        assert!(model().has_operation("ListKeys"));
        assert!(!model().has_operation("createKey"));
        assert!(!model().has_operation("MakeCoffee"));
        assert_eq!(model().validate_input("MakeCoffee", &json!({})), Ok(()));
    }

    // --- SerializationException: wrong JSON types ---------------------------

    #[test]
    fn string_for_an_integer_is_a_serialization_error() {
        assert_eq!(
            serialization("GenerateRandom", json!({"NumberOfBytes": "abc"})),
            "Value 'abc' at 'numberOfBytes' cannot be converted to an integer: expected a JSON \
             number, found a JSON string"
        );
    }

    #[test]
    fn float_for_an_integer_is_a_serialization_error() {
        assert_eq!(
            serialization("GenerateRandom", json!({"NumberOfBytes": 1.5})),
            "Value '1.5' at 'numberOfBytes' cannot be converted to an integer: not a whole number"
        );
        assert_eq!(
            serialization("GenerateRandom", json!({"NumberOfBytes": 2.0})),
            "Value '2.0' at 'numberOfBytes' cannot be converted to an integer: expected an \
             integer without a fraction or exponent"
        );
    }

    #[test]
    fn out_of_range_integer_is_a_serialization_error() {
        assert_eq!(
            serialization(
                "GenerateRandom",
                json!({"NumberOfBytes": 4_294_967_296_i64})
            ),
            "Value '4294967296' at 'numberOfBytes' cannot be converted to an integer: out of range"
        );
        assert_eq!(
            serialization("GenerateRandom", json!({"NumberOfBytes": u64::MAX})),
            "Value '18446744073709551615' at 'numberOfBytes' cannot be converted to an integer: \
             out of range"
        );
        let huge: Value = serde_json::from_str(r#"{"NumberOfBytes": 1e300}"#).unwrap();
        assert!(serialization("GenerateRandom", huge).contains("'numberOfBytes'"));
    }

    #[test]
    fn base64_is_measured_as_the_decoder_decodes_it() {
        for len in 0..70usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = b64(&bytes);
            assert_eq!(base64_decoded_len(&text), Some(len), "{text}");
            assert_eq!(BASE64.decode(&text).map(|d| d.len()).ok(), Some(len));
        }
        for bad in [
            "a", "ab=", "abc", "a===", "ab=c", "ab c", "ab\ncd==", "=AAA", "AA=A",
        ] {
            assert_eq!(
                base64_decoded_len(bad).is_some(),
                BASE64.decode(bad).is_ok(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn invalid_base64_blob_is_a_serialization_error() {
        let body = json!({"KeyId": "k", "Plaintext": "!!!notbase64"});
        assert_eq!(
            serialization("Encrypt", body),
            "Value at 'plaintext' cannot be converted to a blob: invalid base64 (expected the \
             standard alphabet with padding)"
        );
        let unpadded = json!({"KeyId": "k", "Plaintext": "aGk"});
        assert!(serialization("Encrypt", unpadded).contains("invalid base64"));
    }

    #[test]
    fn non_object_bodies_are_serialization_errors() {
        assert_eq!(
            serialization("ListKeys", json!([])),
            "The request body must be a JSON object, found a JSON array"
        );
        for body in [json!(null), json!("x"), json!(1), json!(true)] {
            serialization("Encrypt", body);
        }
    }

    #[test]
    fn wrong_container_types_are_serialization_errors() {
        assert_eq!(
            serialization("CreateKey", json!({"Tags": "team=crypto"})),
            "Value 'team=crypto' at 'tags' cannot be converted to a list: expected a JSON \
             array, found a JSON string"
        );
        assert_eq!(
            serialization("CreateKey", json!({"Tags": ["team"]})),
            "Value 'team' at 'tags.1.member' cannot be converted to a structure: expected a \
             JSON object, found a JSON string"
        );
        assert_eq!(
            serialization(
                "Encrypt",
                json!({"KeyId": "k", "Plaintext": "eA==", "EncryptionContext": []})
            ),
            "Value at 'encryptionContext' cannot be converted to a map: expected a JSON \
             object, found a JSON array"
        );
        assert_eq!(
            serialization("CreateKey", json!({"MultiRegion": "true"})),
            "Value 'true' at 'multiRegion' cannot be converted to a boolean: expected true or \
             false, found a JSON string"
        );
    }

    #[test]
    fn number_for_a_string_is_a_serialization_error() {
        let body = json!({"KeyId": 42, "Plaintext": b64(b"x")});
        assert_eq!(
            serialization("Encrypt", body),
            "Value '42' at 'keyId' cannot be converted to a string: expected a JSON string, \
             found a JSON number"
        );
    }

    #[test]
    fn type_errors_win_over_constraint_violations() {
        let tokens: Vec<String> = (1..=11).map(|i| format!("t{i}")).collect();
        let body = json!({"GrantTokens": tokens, "Plaintext": "!!"});
        assert!(serialization("Encrypt", body).contains("'plaintext'"));
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        // As deep as serde_json will parse.
        let deep = format!("{}{}", "[".repeat(127), "]".repeat(127));
        let deep: Value = serde_json::from_str(&deep).unwrap();
        let bodies = [
            json!({"Tags": [{"TagKey": "k", "TagValue": "v", "X": deep.clone()}]}),
            json!({"Tags": deep.clone()}),
            json!({"GrantTokens": vec![deep.clone(); 11], "KeyId": "k", "Plaintext": "eA=="}),
            json!({"Limit": i64::MIN}),
            json!({"Limit": -0.0}),
            json!({"NumberOfBytes": f64::MAX}),
            json!({"EncryptionContext": {"k": deep.clone()}}),
            json!({"Plaintext": "\u{0}\u{ffff}", "KeyId": "\u{10ffff}"}),
        ];
        for body in &bodies {
            for op in [
                "CreateKey",
                "Encrypt",
                "ListKeys",
                "GenerateRandom",
                "TagResource",
            ] {
                let _ = model().validate_input(op, body);
            }
        }
        // The list of structures with a too-long list rendering stays bounded.
        let _ = model().validate_input("Encrypt", &bodies[2]);
    }

    // --- Patterns ---------------------------------------------------------------

    fn model_patterns() -> Vec<(String, String)> {
        let raw: Value = serde_json::from_str(MODEL_JSON).unwrap();
        raw["shapes"]
            .as_object()
            .unwrap()
            .iter()
            .filter_map(|(name, def)| {
                def.get("pattern")
                    .and_then(Value::as_str)
                    .map(|p| (name.clone(), p.to_owned()))
            })
            .collect()
    }

    #[test]
    fn every_model_pattern_compiles() {
        let patterns = model_patterns();
        assert!(
            patterns.len() >= 20,
            "found only {} patterns",
            patterns.len()
        );
        for (shape, pattern) in patterns {
            if let Err(e) = compile_pattern(&pattern) {
                panic!("pattern of {shape} ({pattern}) does not compile: {e}");
            }
        }
    }

    fn matches(java: &str, value: &str) -> bool {
        compile_pattern(java).unwrap().regex.is_match(value)
    }

    #[test]
    fn patterns_match_the_whole_value_like_java_matches() {
        assert!(matches("[0-9]{12}", "111122223333"));
        assert!(!matches("[0-9]{12}", "1111222233334"));
        assert!(!matches("[0-9]{12}", "x111122223333"));
        assert!(matches("cluster-[2-7a-zA-Z]{11,16}", "cluster-234abcdefgh"));
        assert!(!matches(
            "cluster-[2-7a-zA-Z]{11,16}",
            "prefix-cluster-234abcdefgh"
        ));
        let uri_path = r"^(/[a-zA-Z0-9\/_-]+/kms/xks/v\d{1,2})$|^(/kms/xks/v\d{1,2})$";
        assert!(matches(uri_path, "/kms/xks/v1"));
        assert!(matches(uri_path, "/example/prefix/kms/xks/v12"));
        assert!(!matches(uri_path, "/kms/xks/v123"));
        assert!(!matches(uri_path, "/kms/xks/v1\n"));
    }

    #[test]
    fn unicode_escapes_become_code_point_ranges() {
        let policy = r"[\u0009\u000A\u000D\u0020-\u00FF]+";
        assert!(matches(policy, "{\"a\":\t\"ÿ\"}\r\n"));
        assert!(!matches(policy, "\u{0100}"));
        assert!(!matches(policy, "\u{0B}"));
        assert!(!matches(policy, ""));
        let marker = r"[\u0020-\u00FF]*";
        assert!(matches(marker, ""));
        assert!(!matches(marker, "tab\there"));
    }

    #[test]
    fn java_shorthand_classes_are_ascii_only() {
        assert!(matches(r"[\w]+", "Policy_Name_1"));
        assert!(!matches(r"[\w]+", "é"));
        assert!(!matches(r"^([a-z]+-){2,3}\d+$", "us-east-١"));
        assert!(matches(r"^([a-z]+-){2,3}\d+$", "us-gov-west-1"));
        let description = r"^[a-zA-Z0-9:/_\s.-]+$";
        assert!(matches(description, "key material v1.0/a:b_c-d e"));
        assert!(!matches(description, "non\u{a0}breaking"));
    }

    #[test]
    fn dot_does_not_match_line_terminators() {
        let arn = r"^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$";
        assert!(matches(arn, "arn:aws:kms:us-east-1:111122223333:key/abc"));
        assert!(!matches(arn, "arn:aws:kms:us-east-1:111122223333:key\nabc"));
    }

    #[test]
    fn hyphen_after_a_range_is_a_literal_as_in_java() {
        let xks_key_id = r"^[a-zA-Z0-9-_.]+$";
        assert!(matches(xks_key_id, "key-1_2.3"));
        assert!(!matches(xks_key_id, "key/1"));
        assert!(!matches(xks_key_id, "key:1"));
        let principal = r"^[\w+=,.@:/-]+$";
        assert!(matches(
            principal,
            "arn:aws:iam::111122223333:role/Ex-ample+=,.@"
        ));
        assert!(!matches(principal, "a b"));
        assert!(matches(r"^[a-zA-Z0-9\/+=]+$", "abc/+="));
        assert!(matches(
            r"^([A-Za-z0-9\-]+)\.([A-Za-z0-9\-]+)(\.[A-Za-z0-9\-]+)+$",
            "ec2.amazon-aws.com"
        ));
    }

    #[test]
    fn unsupported_java_constructs_are_rejected_not_misread() {
        for pattern in [
            r"(?=a)a",
            r"a*+",
            r"(a)\1",
            r"[a-z&&[^b]]",
            r"(?i)a",
            r"[z-a]",
            "[ab",
        ] {
            assert!(java_regex_to_rust(pattern).is_err(), "{pattern}");
        }
        assert!(matches(r"\Qa.b\E", "a.b"));
        assert!(!matches(r"\Qa.b\E", "axb"));
        assert!(matches(r"\uD83D\uDE00", "\u{1F600}"));
    }

    #[test]
    fn the_dotall_flag_lets_dot_match_line_breaks() {
        assert!(matches(r"(?s).*", "SELECT *\nFROM x"));
        assert!(!matches(r".*", "SELECT *\nFROM x"));
    }

    #[test]
    fn member_paths_lower_case_the_first_letter() {
        assert_eq!(decapitalize("KeyId"), "keyId");
        assert_eq!(decapitalize("NumberOfBytes"), "numberOfBytes");
        assert_eq!(decapitalize("GrantTokens"), "grantTokens");
        assert_eq!(decapitalize(""), "");
    }
}
