//! XML changelogs into [`Node`]s, on quick-xml: comments, CDATA sections, entities and
//! namespaces are the XML reader's business, so an `<include>` inside a comment is comment
//! text, never an include. Text keeps the lines of the file.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};

use super::node::{LineIndex, Node, Text};

/// Why a file is not a well-formed XML document, at a 1-based line.
#[derive(Debug, PartialEq, Eq)]
pub struct XmlError {
    pub line: usize,
    pub message: String,
}

/// The document's root element.
pub fn parse(text: &str) -> Result<Node, XmlError> {
    let lines = LineIndex::new(text);
    let mut reader = quick_xml::Reader::from_str(text);
    let error = |offset: u64, message: String| XmlError {
        line: lines.line(usize::try_from(offset).unwrap_or(usize::MAX)),
        message,
    };
    // The document itself is the bottom of the stack; its one child is the root element.
    let mut open: Vec<Node> = vec![Node::new("", 1)];
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let line = lines.line(at);
        let event = reader
            .read_event()
            .map_err(|e| error(reader.error_position(), e.to_string()))?;
        match event {
            Event::Start(e) => open.push(element(&e, line).map_err(|m| error(at as u64, m))?),
            Event::Empty(e) => {
                let node = element(&e, line).map_err(|m| error(at as u64, m))?;
                innermost(&mut open).children.push(node);
            }
            Event::End(_) => {
                let node = open.pop().filter(|_| !open.is_empty());
                let node = node.ok_or_else(|| error(at as u64, "unexpected end tag".into()))?;
                innermost(&mut open).children.push(node);
            }
            Event::Text(t) => innermost(&mut open).push_text(&t.xml10_content(), line),
            Event::CData(c) => innermost(&mut open).push_text(&c.xml10_content(), line),
            Event::GeneralRef(r) => {
                let resolved = reference(&r).map_err(|m| error(at as u64, m))?;
                innermost(&mut open).push_text(&resolved, line);
            }
            Event::Eof => break,
            // Comments, the declaration, processing instructions, DOCTYPE: not changelog content.
            _ => {}
        }
    }
    if open.len() > 1 {
        let unclosed = open.pop().unwrap_or_default();
        return Err(XmlError {
            line: unclosed.line,
            message: format!("<{}> is never closed", unclosed.name),
        });
    }
    let document = open.pop().unwrap_or_default();
    document
        .children
        .into_iter()
        .next()
        .ok_or_else(|| XmlError {
            line: 1,
            message: "no root element".into(),
        })
}

fn innermost(open: &mut [Node]) -> &mut Node {
    open.last_mut().expect("the document stays at the bottom")
}

/// An element with its attributes (namespace prefixes dropped: `lb:sql` is `sql`).
fn element(start: &BytesStart<'_>, line: usize) -> Result<Node, String> {
    let mut node = Node::new(start.local_name().as_ref(), line);
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?;
        node.fields.push((
            attribute.key.local_name().as_ref().to_string(),
            Text {
                body: value.into_owned(),
                line,
                exact: false,
            },
        ));
    }
    Ok(node)
}

/// `&lt;`, `&#10;` and the other references XML defines without a DTD.
fn reference(r: &BytesRef<'_>) -> Result<String, String> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => Ok(c.to_string()),
            Ok(None) | Err(_) => Err(format!("bad character reference &{};", r.as_ref())),
        };
    }
    quick_xml::escape::resolve_predefined_entity(r.as_ref())
        .map(str::to_string)
        .ok_or_else(|| format!("unknown entity &{};", r.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_hold_no_elements_even_with_angle_brackets() {
        let root = parse(
            "<?xml version=\"1.0\"?>\n<databaseChangeLog>\n  <!-- old: <include file=\"gone.xml\"/> -> replaced -->\n  <include file=\"kept.xml\"/>\n</databaseChangeLog>\n",
        )
        .unwrap();
        assert_eq!(root.name, "databaseChangeLog");
        assert_eq!(root.children.len(), 1);
        assert_eq!(root.children[0].field("file"), Some("kept.xml"));
        assert_eq!(root.children[0].line, 4);
    }

    #[test]
    fn text_keeps_file_lines_through_cdata_entities_and_comments() {
        let root = parse(
            "<changeSet id=\"1\">\n<sql>\nSELECT 1 &lt; 2;\n<!-- a\ncomment -->\n<![CDATA[SELECT '<b>';]]>\n</sql>\n</changeSet>",
        )
        .unwrap();
        let sql = &root.children[0];
        let text = sql.text.as_ref().unwrap();
        assert_eq!(text.line, 2);
        let lines: Vec<&str> = text.body.lines().collect();
        assert_eq!(lines[1], "SELECT 1 < 2;");
        assert_eq!(lines[4], "SELECT '<b>';");
    }

    #[test]
    fn namespaces_are_dropped_and_errors_have_lines() {
        let root =
            parse("<lb:databaseChangeLog xmlns:lb=\"x\"><lb:sql/></lb:databaseChangeLog>").unwrap();
        assert_eq!(root.children[0].name, "sql");
        let bad = parse("<a>\n<b>\n</a>\n").unwrap_err();
        assert_eq!(bad.line, 3, "{bad:?}");
        assert_eq!(parse("<a>\n<b>\n").unwrap_err().line, 2);
    }
}
