//! The JSON report: the public contract, version 1.

use super::Report;

pub fn render_json(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
