//! Names from a server turned into paths on disk, one rule for every run and every OS: a name
//! is made safe as one path component, and files that would share a path in a folder are told
//! apart by their file ID (docs/downloads.md, "Names on disk").

use std::collections::HashMap;
use std::path::PathBuf;

/// Longest name written, in bytes: most file systems allow 255, and a name may still gain an
/// ID prefix and `.part`.
const MAX_NAME_BYTES: usize = 200;
/// Names Windows reserves for devices, whatever follows a dot.
const RESERVED: [&str; 4] = ["CON", "PRN", "AUX", "NUL"];
/// The suffix of partial downloads: no finished file's name may end with it.
const PART_SUFFIX: &str = ".part";

/// A name from a server as one path component that is valid, and the same, on Linux, macOS and
/// Windows: separators and characters Windows forbids become `_`, so do trailing dots and
/// spaces (Windows drops them), device names get a `_` in front, and a name never ends in
/// `.part` nor is empty, `.` or `..`.
pub fn file_name(raw: &str) -> String {
    let mut name: String = raw
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let kept = name.trim_end_matches(['.', ' ']).len();
    let trailing = name.len() - kept;
    name.truncate(kept);
    name.extend(std::iter::repeat_n('_', trailing));
    if name.is_empty() {
        name.push('_');
    }
    if is_reserved(&name) {
        name.insert(0, '_');
    }
    if name.to_ascii_lowercase().ends_with(PART_SUFFIX) {
        name.push('_');
    }
    shorten(name)
}

/// `CON`, `nul.txt`, `COM1.json`, `lpt9`: device names on Windows, extension or not.
fn is_reserved(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or_default().trim_end();
    let upper = stem.to_ascii_uppercase();
    let numbered = |prefix: &str| {
        upper
            .strip_prefix(prefix)
            .is_some_and(|n| n.len() == 1 && n.as_bytes()[0].is_ascii_digit())
    };
    RESERVED.contains(&upper.as_str()) || numbered("COM") || numbered("LPT")
}

/// Cuts an overlong name, keeping a short extension.
fn shorten(name: String) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name;
    }
    let extension = name
        .rfind('.')
        .map(|dot| &name[dot..])
        .filter(|ext| ext.len() <= 16)
        .unwrap_or("");
    let mut end = MAX_NAME_BYTES - extension.len();
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{extension}", &name[..end])
}

/// One file to place: the folder it goes in, its ID, and its name as the server gave it.
#[derive(Debug, Clone)]
pub struct ToPlace {
    pub folder: PathBuf,
    pub file_id: u64,
    pub name: String,
}

/// Where each file goes, in order: `<folder>/<safe name>`, or `<folder>/<id>_<safe name>` for
/// every file whose safe name another file of the same folder shares. Names are compared
/// case-insensitively, as macOS and Windows do, so a layout is the same on every OS; a file's
/// path depends only on the files listed, never on which were selected or their order.
pub fn place(files: &[ToPlace]) -> Vec<PathBuf> {
    let names: Vec<String> = files.iter().map(|file| file_name(&file.name)).collect();
    let key = |file: &ToPlace, name: &str| (file.folder.clone(), name.to_lowercase());
    let mut sharing: HashMap<(PathBuf, String), u32> = HashMap::new();
    for (file, name) in files.iter().zip(&names) {
        *sharing.entry(key(file, name)).or_default() += 1;
    }
    files
        .iter()
        .zip(&names)
        .map(|(file, name)| match sharing[&key(file, name)] {
            1 => file.folder.join(name),
            _ => file.folder.join(format!("{}_{name}", file.file_id)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn names_cannot_leave_their_folder() {
        assert_eq!(file_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(file_name(".."), "__");
        assert_eq!(file_name("."), "_");
        assert_eq!(file_name(""), "_");
        assert_eq!(file_name("a\\b\nc\0d"), "a_b_c_d");
        assert_eq!(file_name("22222222/x"), "22222222_x");
    }

    #[test]
    fn names_are_valid_on_windows_too() {
        assert_eq!(file_name("report: final?.csv"), "report_ final_.csv");
        assert_eq!(file_name("a<b>c|d*e\"f"), "a_b_c_d_e_f");
        assert_eq!(file_name("trailing dot. "), "trailing dot__");
        assert_eq!(file_name("CON"), "_CON");
        assert_eq!(file_name("nul.txt"), "_nul.txt");
        assert_eq!(file_name("Com1.json"), "_Com1.json");
        assert_eq!(file_name("lpt9"), "_lpt9");
        assert_eq!(file_name("console.log"), "console.log");
        assert_eq!(file_name("COM10"), "COM10");
        assert_eq!(file_name("report 2024.csv"), "report 2024.csv");
        assert_eq!(file_name(".hidden"), ".hidden");
    }

    #[test]
    fn no_finished_name_looks_like_a_partial_download() {
        assert_eq!(file_name("x.part"), "x.part_");
        assert_eq!(file_name("X.PART"), "X.PART_");
        assert_eq!(file_name("x.parts"), "x.parts");
    }

    #[test]
    fn overlong_names_are_cut_on_a_character_boundary_keeping_the_extension() {
        let name = file_name(&format!("{}.json", "é".repeat(300)));
        assert!(name.len() <= MAX_NAME_BYTES, "{}", name.len());
        assert!(name.ends_with("é.json"));
    }

    fn to_place(folder: &str, file_id: u64, name: &str) -> ToPlace {
        ToPlace {
            folder: folder.into(),
            file_id,
            name: name.into(),
        }
    }

    #[test]
    fn files_sharing_a_name_in_a_folder_get_their_id_in_front() {
        let files = [
            to_place("/d/a", 1, "steps.json"),
            to_place("/d/a", 2, "Steps.JSON"),
            to_place("/d/a", 3, "sleep.json"),
            to_place("/d/b", 4, "steps.json"),
            to_place("/d/a", 5, "x/y"),
            to_place("/d/a", 6, "x_y"),
        ];
        let placed = place(&files);
        let expected = [
            "/d/a/1_steps.json",
            "/d/a/2_Steps.JSON",
            "/d/a/sleep.json",
            "/d/b/steps.json",
            "/d/a/5_x_y",
            "/d/a/6_x_y",
        ];
        assert_eq!(placed, expected.map(Path::new));

        let reversed: Vec<ToPlace> = files.into_iter().rev().collect();
        let again = place(&reversed);
        assert_eq!(again.into_iter().rev().collect::<Vec<_>>(), placed);
    }
}
