//! The bytes of `index.csv` before the CSV reader sees them: its text encoding (UTF-8, or
//! what Excel saves: UTF-16, Windows-1252), its delimiter, and a column count bounded before
//! any line is buffered.

use std::borrow::Cow;

use crate::error::Result;
use crate::limits::Limits;

/// Fails on the first record with more fields than [`Limits::max_columns`], before the CSV
/// reader buffers it; a quote toggles quoting, as in the CSV format.
pub(super) fn check_columns(bytes: &[u8], delimiter: u8, limits: &Limits) -> Result<()> {
    let (mut line, mut start, mut fields, mut quoted) = (1, 1, 1, false);
    for &b in bytes {
        if b == b'"' {
            quoted = !quoted;
        } else if b == delimiter && !quoted {
            fields += 1;
        } else if b == b'\n' {
            line += 1;
            if !quoted {
                limits.check_columns(start, fields)?;
                (start, fields) = (line, 1);
            }
        }
    }
    limits.check_columns(start, fields)
}

/// The text of `index.csv` as UTF-8. A UTF-8 BOM is dropped; Excel's "Unicode Text" (UTF-16
/// with a BOM) and files in Windows-1252 (Excel's "CSV" on Windows) are converted, with a
/// warning naming what was done.
pub(super) fn decode_text<'a>(bytes: &'a [u8], warnings: &mut Vec<String>) -> Cow<'a, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let utf16 = match bytes {
        [0xFF, 0xFE, rest @ ..] => Some((rest, u16::from_le_bytes as fn([u8; 2]) -> u16, "LE")),
        [0xFE, 0xFF, rest @ ..] => Some((rest, u16::from_be_bytes as fn([u8; 2]) -> u16, "BE")),
        _ => None,
    };
    if let Some((rest, unit, order)) = utf16 {
        warnings.push(format!(
            "index.csv is UTF-16 {order} text (Excel's \"Unicode Text\"); it was converted to UTF-8. Save it as \"CSV UTF-8\" to avoid this"
        ));
        let units = rest.chunks_exact(2).map(|p| unit([p[0], p[1]]));
        return Cow::Owned(
            char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect(),
        );
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count();
            warnings.push(format!(
                "index.csv is not UTF-8 text (line {line} is the first with other bytes); it was read as Windows-1252, as Excel saves \"CSV\" on Windows. Check the names on that line, or save the file as \"CSV UTF-8\""
            ));
            Cow::Owned(bytes.iter().map(|&b| windows_1252(b)).collect())
        }
    }
}

/// The character a Windows-1252 byte stands for (the five unassigned bytes map to the C1
/// controls of the same value, as browsers do).
fn windows_1252(byte: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
        0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ];
    match byte {
        0x80..=0x9F => char::from_u32(HIGH[usize::from(byte - 0x80)].into()).unwrap_or('\u{FFFD}'),
        _ => char::from(byte),
    }
}

/// Comma, unless the header has none and has semicolons (or tabs).
pub(super) fn detect_delimiter(header: &[u8]) -> u8 {
    let count = |d: u8| header.iter().filter(|b| **b == d).count();
    let (commas, semis, tabs) = (count(b','), count(b';'), count(b'\t'));
    if commas == 0 && semis > 0 {
        b';'
    } else if commas == 0 && tabs > 0 {
        b'\t'
    } else {
        b','
    }
}
