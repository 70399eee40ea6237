//! `.npy` files written by NumPy itself read back exactly; unsupported ones are refused clearly.

mod common;

use common::fixture;
use mbtl_select::{NanPolicy, TransferMatrix};

#[test]
fn numpy_written_files_read_exactly() {
    let want = [1.0, 0.5, 0.25, 0.125, 2.0, -1.5, 3.0, -0.75, 1e-3];
    for name in ["npy/f8_c.npy", "npy/f8_fortran.npy", "npy/f8_c.csv"] {
        let m = TransferMatrix::read(&fixture(name), NanPolicy::Refuse).unwrap();
        assert_eq!(m.data(), &want, "{name}");
    }
    let m = TransferMatrix::read(&fixture("npy/f4_c.npy"), NanPolicy::Refuse).unwrap();
    let want32: Vec<f64> = want.iter().map(|&v| f64::from(v as f32)).collect();
    assert_eq!(m.data(), &want32[..]);
}

#[test]
fn unsupported_arrays_are_refused_with_the_file_name() {
    for (name, why) in [("npy/i8.npy", "dtype"), ("npy/f8_1d.npy", "2-D")] {
        let err = TransferMatrix::read(&fixture(name), NanPolicy::Refuse).unwrap_err();
        // The file is the error; what is wrong with it is its source.
        let e = format!(
            "{err}: {}",
            std::error::Error::source(&err).map_or(String::new(), ToString::to_string)
        );
        assert!(
            e.contains(name.trim_start_matches("npy/")) && e.contains(why),
            "{e}"
        );
    }
}
