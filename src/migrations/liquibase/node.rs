//! One shape for the elements of XML, YAML and JSON changelogs, so that what a changelog means
//! is read in one place (`changelog.rs`) whatever its syntax.
//!
//! XML `<sqlFile path="a.sql"/>` and YAML `- sqlFile: {path: a.sql}` both become a [`Node`]
//! named `sqlFile` with the field `path`; an XML element's text (the SQL of `<sql>` or
//! `<rollback>`) is its [`Node::text`], as is a YAML scalar that stands where an element
//! would (`rollback: DROP TABLE t`).

/// Text of a changelog with the line where it starts in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub body: String,
    /// 1-based line of the file where `body` starts.
    pub line: usize,
    /// Whether line `n` of `body` is line `line + n` of the file (XML text, YAML literal
    /// blocks). Otherwise the value was folded or escaped (a JSON string, a quoted YAML
    /// scalar) and only its first line is known.
    pub exact: bool,
}

/// An element of a changelog: its name, where it starts, its scalar fields (XML attributes,
/// YAML/JSON scalars), its text and its child elements in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub line: usize,
    pub fields: Vec<(String, Text)>,
    pub text: Option<Text>,
    pub children: Vec<Node>,
}

impl Node {
    pub fn new(name: impl Into<String>, line: usize) -> Node {
        Node {
            name: name.into(),
            line,
            ..Node::default()
        }
    }

    /// The value of a scalar field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.field_text(name).map(|t| t.body.as_str())
    }

    pub fn field_text(&self, name: &str) -> Option<&Text> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// A boolean field (`true` / `false`, any case); `default` when absent or anything else.
    pub fn flag(&self, name: &str, default: bool) -> bool {
        match self.field(name).map(|v| v.trim().to_ascii_lowercase()) {
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            _ => default,
        }
    }

    /// Appends a piece of text that starts at `line`, padding with line breaks so that the
    /// lines of the text stay lines of the file (pieces are separated by comments or child
    /// elements, which may span lines).
    pub fn push_text(&mut self, piece: &str, line: usize) {
        let text = self.text.get_or_insert_with(|| Text {
            body: String::new(),
            line,
            exact: true,
        });
        let at = text.line + text.body.matches('\n').count();
        for _ in at..line {
            text.body.push('\n');
        }
        text.body.push_str(piece);
    }
}

/// Byte offsets to 1-based line numbers.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_keep_their_file_lines() {
        let mut node = Node::new("sql", 3);
        node.push_text("\n  SELECT 1;", 3);
        node.push_text("SELECT 2;", 6);
        let text = node.text.unwrap();
        assert_eq!(text.line, 3);
        assert_eq!(
            text.body, "\n  SELECT 1;\n\nSELECT 2;",
            "SELECT 2 on line 6"
        );
    }

    #[test]
    fn offsets_to_lines() {
        let index = LineIndex::new("a\nbc\n\nd");
        let lines: Vec<usize> = [0, 1, 2, 4, 5, 6].map(|o| index.line(o)).to_vec();
        assert_eq!(lines, vec![1, 1, 2, 2, 3, 4]);
    }
}
