//! CSV in and out: the file list as `ohproj-download-metadata` writes it, the upload metadata
//! CSV as `ohproj-upload` reads it, and sizes written like ohapi's `--max-size 128m`.

use crate::ProjectMember;
use datalinks_core::{Error, Result};

/// `project_member_id,data_source,file_basename,file_upload_date`, one row per file; a member
/// without files gets `NA,None,NA` as ohapi writes it.
pub fn metadata_csv(members: &[ProjectMember]) -> String {
    let mut out = String::from("project_member_id,data_source,file_basename,file_upload_date\r\n");
    for member in members {
        if member.files.is_empty() {
            push_row(&mut out, &[&member.project_member_id, "NA", "None", "NA"]);
        }
        for file in &member.files {
            push_row(
                &mut out,
                &[
                    &member.project_member_id,
                    &file.source,
                    &file.basename,
                    &file.created,
                ],
            );
        }
    }
    out
}

fn push_row(out: &mut String, fields: &[&str]) {
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push_str("\r\n");
}

/// Rows of a CSV text (RFC 4180: quoted fields may hold commas, quotes and line breaks).
pub(crate) fn parse_csv(text: &str) -> Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(Error::invalid_input("The CSV ends inside a quoted field."));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows.retain(|row| row.iter().any(|field| !field.trim().is_empty()));
    Ok(rows)
}

/// Member ids from a list separated by commas, spaces or lines (as pasted, or as a member list
/// file holds them), once each, in order.
pub fn parse_member_ids(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    text.split([',', ';', ' ', '\t', '\r', '\n'])
        .filter(|id| !id.is_empty() && seen.insert(*id))
        .map(str::to_owned)
        .collect()
}

/// The largest member list file read: 50,000 ids take under 0.5 MB, so anything near this is some
/// other file chosen by mistake, which must not be read into memory whole.
const MEMBER_LIST_MAX_BYTES: u64 = 16 << 20;

/// The member ids a list file holds (ohproj-download's `--memberlist`/`--excludelist`).
pub fn read_member_ids(path: &std::path::Path) -> Result<Vec<String>> {
    let unreadable = |e: std::io::Error| {
        Error::invalid_input(format!(
            "Could not read the member list {}: {e}",
            path.display()
        ))
    };
    let size = std::fs::metadata(path).map_err(unreadable)?.len();
    if size > MEMBER_LIST_MAX_BYTES {
        return Err(Error::invalid_input(format!(
            "{} is {size} bytes, too large for a member list (at most {MEMBER_LIST_MAX_BYTES}); \
             choose the file of member ids.",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    Ok(parse_member_ids(&text))
}

/// `128m`, `1.5G`, `4096`: decimal multiples as in ohapi (humanfriendly), `Ki`/`Mi`/`Gi` binary.
pub fn parse_size(text: &str) -> Result<u64> {
    let trimmed = text.trim().to_ascii_lowercase();
    let trimmed = trimmed.strip_suffix('b').unwrap_or(&trimmed);
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let multiplier: u64 = match unit.trim() {
        "" => 1,
        "k" => 1_000,
        "m" => 1_000_000,
        "g" => 1_000_000_000,
        "t" => 1_000_000_000_000,
        "ki" => 1 << 10,
        "mi" => 1 << 20,
        "gi" => 1 << 30,
        "ti" => 1 << 40,
        _ => return Err(Error::invalid_input(format!("{text:?} is not a size."))),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| Error::invalid_input(format!("{text:?} is not a size.")))?;
    Ok((value * multiplier as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_id_lists_split_on_any_separator_and_keep_each_id_once() {
        assert_eq!(
            parse_member_ids("12345678, 23456789\n12345678;34567890\r\n\t"),
            ["12345678", "23456789", "34567890"]
        );
        assert!(parse_member_ids(" \n").is_empty());
    }

    #[test]
    fn a_file_too_large_for_a_member_list_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("export.zip");
        // Sparse: no bytes are written, only the size is set.
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MEMBER_LIST_MAX_BYTES + 1)
            .unwrap();
        let err = read_member_ids(&big).unwrap_err();
        assert!(
            err.message.contains("too large for a member list"),
            "{err:?}"
        );
        std::fs::write(&big, "12345678\n").unwrap();
        assert_eq!(read_member_ids(&big).unwrap(), ["12345678"]);
    }

    #[test]
    fn csv_round_trips_quotes_commas_and_line_breaks() {
        let mut text = String::new();
        push_row(&mut text, &["a,b", "say \"hi\"", "two\nlines", "plain"]);
        assert_eq!(
            parse_csv(&text).unwrap(),
            vec![vec!["a,b", "say \"hi\"", "two\nlines", "plain"]]
        );
        assert!(parse_csv("\"open").is_err());
    }

    #[test]
    fn sizes_like_ohapi() {
        assert_eq!(parse_size("128m").unwrap(), 128_000_000);
        assert_eq!(parse_size("1.5G").unwrap(), 1_500_000_000);
        assert_eq!(parse_size("2MiB").unwrap(), 2 << 20);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("lots").is_err());
    }
}
