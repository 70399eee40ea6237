//! M/GP-MBTL (sdmbtl-spec §3.4): M-MBTL while the revealed rows look like Mountain structure,
//! GP-MBTL otherwise. The first six tasks always come from M-MBTL; from then on the structure
//! test runs after every revealed row and the branch may switch back and forth.

use super::gp_mbtl::GpModel;
use super::m_mbtl::{Candidates, Clustering};
use super::{History, Strategy};
use crate::error::Result;
use crate::structure::detect;

/// Rows needed before the structure test is trusted.
const DETECT_AFTER: usize = 5;

/// M/GP-MBTL.
#[derive(Debug, Clone)]
pub struct MgpMbtl {
    candidates: Candidates,
    seed: u32,
    clustering: Clustering,
    gp: GpModel,
    mountain: bool,
    detected_at: usize,
    last_mode: Option<&'static str>,
}

impl MgpMbtl {
    pub fn new(candidates: Candidates, seed: u32) -> MgpMbtl {
        MgpMbtl {
            candidates,
            seed,
            clustering: Clustering::new(candidates, seed),
            gp: GpModel::default(),
            mountain: true,
            detected_at: 0,
            last_mode: None,
        }
    }
}

impl Strategy for MgpMbtl {
    fn name(&self) -> String {
        "mgp-mbtl".into()
    }

    fn select(&mut self, h: &History<'_>) -> Result<usize> {
        if h.k() == 0 {
            *self = MgpMbtl::new(self.candidates, self.seed);
        }
        // Detection after each newly revealed row (k > 5); the GP is trained only when the
        // structure is not Mountain.
        while self.detected_at < h.k() {
            self.detected_at += 1;
            let k = self.detected_at;
            let prefix = History {
                chosen: &h.chosen[..k],
                rows: &h.rows[..k],
                ..*h
            };
            // The GP model's regression takes the row first; the GP itself is trained only
            // when the structure (tested from k > 5 on) is not Mountain.
            self.gp.observe(&prefix, |_| false)?;
            if k > DETECT_AFTER {
                let reg = self.gp.regression().expect("a row was observed");
                self.mountain = detect(h.space, &h.chosen[..k], &h.rows[..k], reg).mountain();
                if !self.mountain {
                    self.gp.train(&prefix)?;
                }
            }
        }
        let task = if self.mountain {
            self.last_mode = Some("M-MBTL");
            self.clustering.step(h.space)
        } else {
            self.last_mode = Some("GP-MBTL");
            let t = self.gp.select(h)?;
            self.clustering.sync(h.space, t);
            t
        };
        Ok(task)
    }

    fn mode(&self) -> Option<&'static str> {
        self.last_mode
    }
}
