//! Hostile experiment files and matrix files never reach a panic or an allocator abort:
//! every number of the example experiments, and every shape of an `.npy` header, replaced by
//! values chosen to break sizes and arithmetic, must give `Ok` or a clear error.

use std::panic::catch_unwind;
use std::path::Path;

use mbtl_run::config::Experiment;

const NASTY: [&str; 14] = [
    "0",
    "-1",
    "1",
    "2",
    "1e308",
    "-1e308",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "100001",
    "4294967296",
    "18446744073709551615",
    "9223372036854775807",
];

/// The spans of number-looking tokens in `text`.
fn numbers(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'));
        if starts {
            let j = (i..b.len())
                .find(|&j| !(b[j].is_ascii_digit() || b"._eE-+".contains(&b[j])))
                .unwrap_or(b.len());
            out.push((i, j));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn mutated_example_experiments_fail_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut tried = 0;
    for dir in ["", "external"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (a, b) in numbers(&text) {
                for nasty in NASTY {
                    let mutated = format!("{}{}{}", &text[..a], nasty, &text[b..]);
                    let outcome = catch_unwind(|| {
                        Experiment::parse(&mutated, "fuzz.toml").and_then(|e| e.plan("fuzz.toml"))
                    });
                    assert!(
                        outcome.is_ok(),
                        "{}: '{}' → '{nasty}' panicked",
                        path.display(),
                        &text[a..b]
                    );
                    tried += 1;
                }
            }
        }
    }
    assert!(tried > 500, "{tried} mutations");
}

#[test]
fn npy_headers_that_lie_are_errors() {
    let dir = std::env::temp_dir().join(format!("mbtl-fuzz-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shapes = [
        "(4294967296, 4294967296)",
        "(18446744073709551615, 2)",
        "(3, 3)",
        "(0, 0)",
        "(2,)",
        "(2, 2, 2)",
        "(9223372036854775807, 9223372036854775807)",
    ];
    for (i, shape) in shapes.iter().enumerate() {
        for descr in ["<f8", "<f4", "<i8", "|b1"] {
            let mut header =
                format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
            while !(10 + header.len() + 1).is_multiple_of(64) {
                header.push(' ');
            }
            header.push('\n');
            let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
            bytes.extend((header.len() as u16).to_le_bytes());
            bytes.extend(header.as_bytes());
            bytes.extend([0u8; 32]);
            let path = dir.join(format!("h{i}.npy"));
            std::fs::write(&path, bytes).unwrap();
            let outcome = catch_unwind(|| {
                mbtl_select::TransferMatrix::read(&path, mbtl_select::NanPolicy::Refuse)
            });
            let result = outcome.unwrap_or_else(|_| panic!("{shape} {descr} panicked"));
            assert!(result.is_err(), "{shape} {descr} accepted");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
