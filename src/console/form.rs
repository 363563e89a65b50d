//! Submitted forms: `application/x-www-form-urlencoded` bodies and query strings as ordered
//! name/value lists (names may repeat: tags, Regions, principals), and multipart uploads.

use zeroize::Zeroizing;

/// A parsed form or query string.
#[derive(Debug, Default, Clone)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Parses an urlencoded body or query string.
    pub fn parse(bytes: &[u8]) -> Form {
        Form {
            pairs: form_urlencoded::parse(bytes).into_owned().collect(),
        }
    }

    /// Builds a form from text fields (multipart).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Form {
        Form { pairs }
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first value of `name` exactly as sent ("" when absent).
    pub fn raw(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value of `name`, in order (blank ones included).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// A file field of a multipart upload.
pub struct Upload {
    pub name: String,
    pub bytes: Zeroizing<Vec<u8>>,
}

/// The largest upload the console accepts (an import token or wrapped key material is a few
/// kilobytes).
pub const MAX_UPLOAD: usize = 64 * 1024;

/// Splits text fields from file fields.
pub async fn multipart(mut mp: axum::extract::Multipart) -> Result<(Form, Vec<Upload>), String> {
    let mut pairs = Vec::new();
    let mut files = Vec::new();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(format!("the upload could not be read: {e}")),
        };
        let name = field.name().unwrap_or("").to_string();
        let is_file = field.file_name().is_some();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| format!("the upload could not be read: {e}"))?;
        if bytes.len() > MAX_UPLOAD {
            return Err(format!(
                "the file in {name} is {} bytes; at most {MAX_UPLOAD} are accepted",
                bytes.len()
            ));
        }
        if is_file {
            files.push(Upload {
                name,
                bytes: Zeroizing::new(bytes.to_vec()),
            });
        } else {
            pairs.push((name, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    Ok((Form::from_pairs(pairs), files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_keep_their_order() {
        let f = Form::parse(b"region=us-west-2&region=eu-west-1&alias=+x+&empty=");
        assert_eq!(f.all("region"), vec!["us-west-2", "eu-west-1"]);
        assert_eq!(f.get("alias"), Some("x"));
        assert_eq!(f.get("empty"), None);
        assert_eq!(f.get("absent"), None);
    }
}
