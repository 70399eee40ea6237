//! # mbtl-fs
//!
//! One durable write for every file mbtl produces (transfer matrices, policy files, job and
//! result files, results, figures, reports), so that "a crash never loses completed work and
//! never leaves half a file" is a property of one function rather than of every writer.

use std::fs;
use std::path::Path;

/// The one durable write of mbtl: `bytes` go to a temporary file beside `path`, which is
/// flushed to disk, renamed over `path`, and the folder flushed too. A crash or kill at any
/// moment leaves the old file or the new one, never half of one; a full disk fails the write
/// and leaves the old file. The error is the operating system's (callers add the path).
pub fn write_durable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file path"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is durable once the folder's entry is; not every file system lets a folder
    // be opened for that, and then there is nothing more to do.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_and_leave_no_temporaries() {
        let dir = std::env::temp_dir().join(format!("mbtl-fs-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.txt");
        write_durable(&path, b"first").unwrap();
        write_durable(&path, b"second, longer").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.txt")]);
        // A folder that does not exist fails with the OS's error and creates nothing.
        assert!(write_durable(&dir.join("missing/b.txt"), b"x").is_err());
        assert!(write_durable(Path::new("/"), b"x").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
