//! Transfer matrices: `J[source, target]`, the performance of the policy trained on a source
//! task when deployed zero-shot on a target task (MBTL eq. 1's `J(π_x, x')`).
//!
//! Formats: the official MBTL CSV (N×N, no header, row = source, column = target, raw metric)
//! and NumPy `.npy` (SD-MBTL's format, `<f8` or `<f4`, C or Fortran order).

use std::fs;
use std::io::BufReader;
use std::path::Path;

use crate::error::{Result, SelectError};

/// A dense, square transfer matrix (rows = sources, columns = targets), row-major f64.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferMatrix {
    n: usize,
    data: Vec<f64>,
}

/// What to do with NaN cells when loading; the default refuses them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum NanPolicy {
    #[default]
    Refuse,
    /// Replace NaN by the smallest finite value of the matrix (a pessimistic transfer).
    Min,
    /// Replace NaN by this value.
    Value(f64),
}

impl std::str::FromStr for NanPolicy {
    type Err = SelectError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "refuse" => Ok(NanPolicy::Refuse),
            "min" => Ok(NanPolicy::Min),
            v => v
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(NanPolicy::Value)
                .ok_or_else(|| SelectError::Invalid {
                    what: "NaN policy",
                    value: s.to_string(),
                    expected: "'refuse', 'min' or a finite number".into(),
                }),
        }
    }
}

/// A file error in mbtl's own words.
fn file_err(path: &Path, message: impl Into<String>) -> SelectError {
    file_src(path, message.into())
}

/// A file error caused by another error, kept as the source.
fn file_src(
    path: &Path,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> SelectError {
    SelectError::File {
        path: path.display().to_string(),
        source: source.into(),
    }
}

impl TransferMatrix {
    /// The number of tasks of `matrices`, which must be at least one and all of one size;
    /// `who` names what needs them in the error.
    pub(crate) fn common_size(matrices: &[TransferMatrix], who: &'static str) -> Result<usize> {
        let n = matrices
            .first()
            .map(TransferMatrix::n)
            .ok_or(SelectError::Missing {
                who,
                what: "a transfer matrix",
            })?;
        if let Some(m) = matrices.iter().find(|m| m.n() != n) {
            return Err(SelectError::Size {
                what: format!("tasks in a matrix for {who} (the first one's are expected)"),
                expected: n,
                found: m.n(),
            });
        }
        Ok(n)
    }

    /// From row-major data; refuses non-square shapes and non-finite cells.
    pub fn new(n: usize, data: Vec<f64>) -> Result<TransferMatrix> {
        if n == 0 {
            return Err(SelectError::Empty {
                what: "transfer matrix",
            });
        }
        if data.len() != n * n {
            return Err(SelectError::Size {
                what: format!("values of a {n}×{n} transfer matrix"),
                expected: n * n,
                found: data.len(),
            });
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(SelectError::NonFinite {
                row: i / n,
                col: i % n,
                value: data[i],
            });
        }
        Ok(TransferMatrix { n, data })
    }

    /// From rows (all of length `rows.len()`).
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<TransferMatrix> {
        let n = rows.len();
        if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != n) {
            return Err(SelectError::Size {
                what: format!("values in transfer matrix row {i}"),
                expected: n,
                found: r.len(),
            });
        }
        TransferMatrix::new(n, rows.concat())
    }

    /// Builds `J[s, t] = f(s, t)`.
    pub fn from_fn(n: usize, mut f: impl FnMut(usize, usize) -> f64) -> Result<TransferMatrix> {
        let mut data = Vec::with_capacity(n * n);
        for s in 0..n {
            for t in 0..n {
                data.push(f(s, t));
            }
        }
        TransferMatrix::new(n, data)
    }

    /// Number of tasks (sources = targets).
    pub fn n(&self) -> usize {
        self.n
    }

    #[inline]
    pub fn get(&self, source: usize, target: usize) -> f64 {
        self.data[source * self.n + target]
    }

    /// The transfer row of one source: its performance on every target.
    #[inline]
    pub fn row(&self, source: usize) -> &[f64] {
        &self.data[source * self.n..(source + 1) * self.n]
    }

    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// Training performance `J[x, x]` of every task.
    pub fn diagonal(&self) -> Vec<f64> {
        (0..self.n).map(|i| self.get(i, i)).collect()
    }

    /// Cells outside `[0, 1]` after normalisation: how many, and the smallest and largest
    /// value, when there are any. Bounds that do not bracket the returns leave some (MBTL's
    /// authors' Pendulum bounds do for good policies), and then `V_k` can exceed 1.
    pub fn outside_unit(&self) -> Option<(usize, f64, f64)> {
        let n = self
            .data
            .iter()
            .filter(|v| !(0.0..=1.0).contains(*v))
            .count();
        (n > 0).then(|| (n, self.min(), self.max()))
    }

    pub fn min(&self) -> f64 {
        self.data.iter().copied().fold(f64::INFINITY, f64::min)
    }

    pub fn max(&self) -> f64 {
        self.data.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    /// MBTL's normalisation (mbtl-spec §4.3): optionally negate (costs), then
    /// `(J − lower)/(upper − lower)` with per-benchmark bounds.
    pub fn normalize_bounds(&mut self, lower: f64, upper: f64, negate: bool) -> Result<()> {
        if !(lower.is_finite() && upper.is_finite() && upper > lower) {
            return Err(SelectError::Bounds { lower, upper });
        }
        let sign = if negate { -1.0 } else { 1.0 };
        for v in &mut self.data {
            *v = (sign * *v - lower) / (upper - lower);
        }
        Ok(())
    }

    /// Clamps every cell to `[0, 1]` (after [`TransferMatrix::normalize_bounds`], when the
    /// bounds do not bracket every return and the values outside are to count as 0 or 1).
    pub fn clip_unit(&mut self) {
        for v in &mut self.data {
            *v = v.clamp(0.0, 1.0);
        }
    }

    /// SD-MBTL's normalisation (sdmbtl-spec §1): one global min and max over all trial
    /// matrices of a benchmark, then `(J − min)/(max − min)` for each. Returns `(min, max)`, so
    /// that other values (a multi-task vector) can be put on the same scale.
    pub fn normalize_minmax_global(matrices: &mut [TransferMatrix]) -> Result<(f64, f64)> {
        let lo = matrices
            .iter()
            .map(TransferMatrix::min)
            .fold(f64::INFINITY, f64::min);
        let hi = matrices
            .iter()
            .map(TransferMatrix::max)
            .fold(f64::NEG_INFINITY, f64::max);
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
            return Err(SelectError::Bounds {
                lower: lo,
                upper: hi,
            });
        }
        for m in matrices {
            for v in &mut m.data {
                *v = (*v - lo) / (hi - lo);
            }
        }
        Ok((lo, hi))
    }

    /// Reads `.csv` or `.npy` by extension.
    pub fn read(path: &Path, nan: NanPolicy) -> Result<TransferMatrix> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("npy") => Self::read_npy(path, nan),
            Some("csv" | "txt") => Self::read_csv(path, nan),
            _ => Err(file_err(
                path,
                "unknown matrix format: expected a .csv or .npy file",
            )),
        }
    }

    /// The official MBTL CSV: N rows of N comma-separated numbers, no header.
    pub fn read_csv(path: &Path, nan: NanPolicy) -> Result<TransferMatrix> {
        let text = fs::read_to_string(path).map_err(|e| file_src(path, e))?;
        let mut rows: Vec<Vec<f64>> = Vec::new();
        for (r, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let row = line
                .split(',')
                .enumerate()
                .map(|(c, cell)| {
                    let cell = cell.trim();
                    match cell.to_ascii_lowercase().as_str() {
                        "nan" | "" => Ok(f64::NAN),
                        _ => cell.parse::<f64>().map_err(|_| SelectError::Cell {
                            path: path.display().to_string(),
                            row: r,
                            col: c,
                            message: format!("'{cell}' is not a number"),
                        }),
                    }
                })
                .collect::<Result<Vec<f64>>>()?;
            if let Some(first) = rows.first() {
                if row.len() != first.len() {
                    return Err(SelectError::Cell {
                        path: path.display().to_string(),
                        row: r,
                        col: row.len().min(first.len()),
                        message: format!(
                            "ragged: {} values where row 0 has {}",
                            row.len(),
                            first.len()
                        ),
                    });
                }
            }
            rows.push(row);
        }
        Self::from_loaded(
            path,
            rows.len(),
            rows.first().map_or(0, Vec::len),
            rows.concat(),
            nan,
        )
    }

    /// NumPy `.npy`: a 2-D `float64` or `float32` array.
    pub fn read_npy(path: &Path, nan: NanPolicy) -> Result<TransferMatrix> {
        let file = fs::File::open(path).map_err(|e| file_src(path, e))?;
        let npy = npyz::NpyFile::new(BufReader::new(file)).map_err(|e| file_src(path, e))?;
        let shape = npy.shape().to_vec();
        if shape.len() != 2 {
            return Err(file_err(
                path,
                format!("expected a 2-D array, got shape {shape:?}"),
            ));
        }
        // The header's shape must fit the file before anything is allocated for it.
        let file_len = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let cells = shape[0].checked_mul(shape[1]);
        let item = npy.dtype().num_bytes().unwrap_or(8) as u64;
        if cells
            .and_then(|c| c.checked_mul(item))
            .is_none_or(|b| b > file_len)
        {
            return Err(file_err(
                path,
                format!(
                    "the header claims shape {shape:?}, more than the file's {file_len} bytes hold"
                ),
            ));
        }
        let (rows, cols) = (shape[0] as usize, shape[1] as usize);
        let fortran = npy.order() == npyz::Order::Fortran;
        let descr = npy
            .dtype()
            .descr()
            .trim_matches(|c| c == '\'' || c == '"')
            .to_string();
        let mut data: Vec<f64> = match descr.as_str() {
            "<f8" => npy.into_vec::<f64>().map_err(|e| file_src(path, e))?,
            "<f4" => npy
                .into_vec::<f32>()
                .map_err(|e| file_src(path, e))?
                .into_iter()
                .map(f64::from)
                .collect(),
            other => {
                return Err(file_err(
                    path,
                    format!("dtype '{other}' is not supported: expected float64 or float32"),
                ))
            }
        };
        if fortran {
            let mut c = vec![0.0; data.len()];
            for i in 0..rows {
                for j in 0..cols {
                    c[i * cols + j] = data[j * rows + i];
                }
            }
            data = c;
        }
        Self::from_loaded(path, rows, cols, data, nan)
    }

    fn from_loaded(
        path: &Path,
        rows: usize,
        cols: usize,
        mut data: Vec<f64>,
        nan: NanPolicy,
    ) -> Result<TransferMatrix> {
        if rows == 0 || cols == 0 {
            return Err(file_err(path, "the matrix is empty"));
        }
        if rows != cols {
            return Err(file_err(
                path,
                format!(
                    "the matrix is {rows}×{cols}; a transfer matrix is square (sources = targets)"
                ),
            ));
        }
        if let Some(i) = data.iter().position(|v| v.is_infinite()) {
            return Err(SelectError::Cell {
                path: path.display().to_string(),
                row: i / cols,
                col: i % cols,
                message: format!("{} is not finite", data[i]),
            });
        }
        let replacement = match nan {
            NanPolicy::Refuse => {
                if let Some(i) = data.iter().position(|v| v.is_nan()) {
                    return Err(SelectError::Cell {
                        path: path.display().to_string(),
                        row: i / cols,
                        col: i % cols,
                        message:
                            "NaN (empty or 'nan'); pass a NaN policy (min or a value) to impute"
                                .into(),
                    });
                }
                0.0
            }
            NanPolicy::Min => data
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(f64::INFINITY, f64::min),
            NanPolicy::Value(v) => v,
        };
        if !replacement.is_finite() {
            return Err(file_err(path, "every cell is NaN"));
        }
        for v in &mut data {
            if v.is_nan() {
                *v = replacement;
            }
        }
        TransferMatrix::new(rows, data).map_err(|e| file_src(path, e))
    }

    /// Writes the official MBTL CSV (shortest round-trip decimals).
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let mut out = String::with_capacity(self.data.len() * 12);
        for s in 0..self.n {
            for (t, v) in self.row(s).iter().enumerate() {
                if t > 0 {
                    out.push(',');
                }
                out.push_str(&format!("{v:?}"));
            }
            out.push('\n');
        }
        write_atomic(path, out.as_bytes())
    }

    /// Writes a `<f8` C-order `.npy`.
    pub fn write_npy(&self, path: &Path) -> Result<()> {
        let mut buf = Vec::new();
        {
            use npyz::WriterBuilder;
            let mut writer = npyz::WriteOptions::<f64>::new()
                .default_dtype()
                .shape(&[self.n as u64, self.n as u64])
                .writer(&mut buf)
                .begin_nd()
                .map_err(|e| file_src(path, e))?;
            writer
                .extend(self.data.iter().copied())
                .map_err(|e| file_src(path, e))?;
            writer.finish().map_err(|e| file_src(path, e))?;
        }
        write_atomic(path, &buf)
    }

    /// Writes by extension (`.csv` or `.npy`).
    pub fn write(&self, path: &Path) -> Result<()> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("npy") => self.write_npy(path),
            Some("csv") => self.write_csv(path),
            _ => Err(file_err(
                path,
                "unknown matrix format: expected a .csv or .npy file",
            )),
        }
    }
}

/// Writes to a temporary file beside `path` and renames it, so a crash never leaves half a file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    mbtl_fs::write_durable(path, bytes).map_err(|e| file_src(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch file in a per-test folder (removed by [`Scratch`]'s drop).
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(test: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("mbtl-matrix-{}-{test}", std::process::id()));
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn path(&self, name: &str) -> std::path::PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn csv_and_npy_round_trip() {
        let dir = Scratch::new("round-trip");
        let m = TransferMatrix::from_fn(4, |s, t| s as f64 * 0.1 - t as f64 / 3.0).unwrap();
        for name in ["m.csv", "m.npy"] {
            let p = dir.path(name);
            m.write(&p).unwrap();
            assert_eq!(
                TransferMatrix::read(&p, NanPolicy::Refuse).unwrap(),
                m,
                "{name}"
            );
        }
    }

    #[test]
    fn bad_csv_names_file_row_and_column() {
        let dir = Scratch::new("bad");
        let cases = [
            ("ragged.csv", "1,2\n3\n", "row 1"),
            ("nonsquare.csv", "1,2,3\n4,5,6\n", "2×3"),
            ("empty.csv", "\n", "empty"),
            ("word.csv", "1,2\n3,x\n", "row 1, column 1"),
            ("nan.csv", "1,nan\n3,4\n", "row 0, column 1"),
            ("inf.csv", "1,2\ninf,4\n", "row 1, column 0"),
        ];
        for (name, text, want) in cases {
            let p = dir.path(name);
            fs::write(&p, text).unwrap();
            let e = crate::error_chain(&TransferMatrix::read(&p, NanPolicy::Refuse).unwrap_err());
            assert!(e.contains(name) && e.contains(want), "{name}: {e}");
        }
    }

    #[test]
    fn nan_imputation_only_when_asked() {
        let dir = Scratch::new("nan");
        let p = dir.path("imp.csv");
        fs::write(&p, "1,nan\n3,4\n").unwrap();
        assert_eq!(
            TransferMatrix::read(&p, NanPolicy::Min).unwrap().get(0, 1),
            1.0
        );
        assert_eq!(
            TransferMatrix::read(&p, NanPolicy::Value(-5.0))
                .unwrap()
                .get(0, 1),
            -5.0
        );
    }

    #[test]
    fn normalisations() {
        let mut m = TransferMatrix::from_rows(&[vec![-50.0, -100.0], vec![0.0, -25.0]]).unwrap();
        m.normalize_bounds(-100.0, 0.0, false).unwrap();
        assert_eq!(m.data(), &[0.5, 0.0, 1.0, 0.75]);
        let mut cost = TransferMatrix::from_rows(&[vec![50.0, 100.0], vec![0.0, 25.0]]).unwrap();
        cost.normalize_bounds(-100.0, 0.0, true).unwrap();
        assert_eq!(cost.data(), &[0.5, 0.0, 1.0, 0.75]);
        let mut ms = vec![
            TransferMatrix::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap(),
            TransferMatrix::from_rows(&[vec![0.0, 2.0], vec![3.0, 8.0]]).unwrap(),
        ];
        TransferMatrix::normalize_minmax_global(&mut ms).unwrap();
        assert_eq!(ms[0].data(), &[0.125, 0.25, 0.375, 0.5]);
        assert_eq!(ms[1].get(1, 1), 1.0);
    }
}
