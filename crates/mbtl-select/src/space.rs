//! Where tasks sit: the coordinates strategies reason with. The selection engine sees tasks
//! only as points (1-D index, integer grid or physical values); it never needs to know what a
//! context means.

use crate::error::{Result, SelectError};

/// Coordinates of every task (`n × dim`, row-major), plus grid levels when the tasks form one.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpace {
    dim: usize,
    coords: Vec<f64>,
    levels: Option<Vec<usize>>,
}

impl TaskSpace {
    /// MBTL's convention (mbtl-spec §2.3): task `i` sits at coordinate `i`.
    pub fn indices(n: usize) -> TaskSpace {
        TaskSpace {
            dim: 1,
            coords: (0..n).map(|i| i as f64).collect(),
            levels: Some(vec![n]),
        }
    }

    /// SD-MBTL's integer grid (sdmbtl-spec §1): row-major, last dimension fastest, coordinates
    /// `0..levels[d]`.
    pub fn grid(levels: &[usize]) -> Result<TaskSpace> {
        if levels.is_empty() || levels.contains(&0) {
            return Err(SelectError::Invalid {
                what: "grid levels",
                value: format!("{levels:?}"),
                expected: "at least one level count, each positive".into(),
            });
        }
        let n: usize = levels.iter().product();
        let dim = levels.len();
        let mut coords = Vec::with_capacity(n * dim);
        let mut idx = vec![0usize; dim];
        for _ in 0..n {
            coords.extend(idx.iter().map(|&i| i as f64));
            for d in (0..dim).rev() {
                idx[d] += 1;
                if idx[d] < levels[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        Ok(TaskSpace {
            dim,
            coords,
            levels: Some(levels.to_vec()),
        })
    }

    /// Arbitrary points (e.g. physical context values), `points[i]` of task `i`.
    pub fn points(points: &[Vec<f64>]) -> Result<TaskSpace> {
        let dim = points.first().map(Vec::len).unwrap_or(0);
        if dim == 0 {
            return Err(SelectError::Empty {
                what: "task space (no points, or points without coordinates)",
            });
        }
        if let Some((i, p)) = points
            .iter()
            .enumerate()
            .find(|(_, p)| p.len() != dim || p.iter().any(|v| !v.is_finite()))
        {
            return Err(SelectError::Invalid {
                what: "task space point",
                value: format!("#{i} {p:?}"),
                expected: format!("{dim} finite coordinates, as the first point has"),
            });
        }
        Ok(TaskSpace {
            dim,
            coords: points.concat(),
            levels: None,
        })
    }

    pub fn len(&self) -> usize {
        self.coords.len() / self.dim
    }

    pub fn is_empty(&self) -> bool {
        self.coords.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn levels(&self) -> Option<&[usize]> {
        self.levels.as_deref()
    }

    #[inline]
    pub fn coord(&self, task: usize) -> &[f64] {
        &self.coords[task * self.dim..(task + 1) * self.dim]
    }

    pub fn coords(&self) -> &[f64] {
        &self.coords
    }

    /// Checks that this space describes an `n`-task matrix.
    pub fn check_len(&self, n: usize) -> Result<()> {
        if self.len() != n {
            return Err(SelectError::Size {
                what: "tasks in the task space (the matrix's are expected)".into(),
                expected: n,
                found: self.len(),
            });
        }
        Ok(())
    }

    /// Flat index of integer grid coordinates (rounded half to even, clamped to the grid).
    pub fn grid_index(&self, c: &[f64]) -> Option<usize> {
        let levels = self.levels.as_ref()?;
        let mut idx = 0usize;
        for (&v, &n) in c.iter().zip(levels) {
            let r = v.round_ties_even();
            if !(0.0..n as f64).contains(&r) {
                return None;
            }
            idx = idx * n + r as usize;
        }
        Some(idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_row_major() {
        let g = TaskSpace::grid(&[2, 3]).unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g.coord(1), &[0.0, 1.0]);
        assert_eq!(g.coord(3), &[1.0, 0.0]);
        assert_eq!(g.grid_index(&[1.0, 2.0]), Some(5));
        assert_eq!(g.grid_index(&[0.5, 0.0]), Some(0)); // half to even
        assert_eq!(g.grid_index(&[2.0, 0.0]), None);
        let g = TaskSpace::grid(&[8, 8, 8]).unwrap();
        assert_eq!(g.coord(292), &[4.0, 4.0, 4.0]);
    }
}
