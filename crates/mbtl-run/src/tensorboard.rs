//! TensorBoard event files, written directly: the format is small and stable (TFRecord framing
//! with masked CRC-32C checksums around `Event` protocol buffers that carry scalar summaries),
//! so a few dozen lines replace a dependency on a protobuf stack.
//!
//! `mbtl status DIR --tensorboard OUT` writes one event file per training, under
//! `OUT/trial{t}/task{i:04}` (or `multitask`), so `tensorboard --logdir OUT` shows every
//! source as a run, with Stable-Baselines3's tags (`rollout/ep_rew_mean`, `eval/mean_reward`,
//! `train/…`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::job::{series, Source};
use crate::store::RunStore;

/// An event file being built in memory.
#[derive(Debug, Clone)]
pub struct EventFile {
    bytes: Vec<u8>,
}

impl EventFile {
    /// A file whose first record names the format version, as TensorBoard expects.
    pub fn new(wall_time: f64) -> EventFile {
        let mut event = Vec::new();
        put_double(&mut event, 1, wall_time);
        put_bytes(&mut event, 3, b"brain.Event:2");
        let mut f = EventFile { bytes: Vec::new() };
        f.record(&event);
        f
    }

    /// One scalar of `tag` at `step`.
    pub fn scalar(&mut self, tag: &str, step: i64, value: f32, wall_time: f64) {
        let mut value_msg = Vec::new();
        put_bytes(&mut value_msg, 1, tag.as_bytes());
        value_msg.push((2 << 3) | 5); // simple_value: fixed32 float
        value_msg.extend_from_slice(&value.to_le_bytes());
        let mut summary = Vec::new();
        put_bytes(&mut summary, 1, &value_msg);
        let mut event = Vec::new();
        put_double(&mut event, 1, wall_time);
        put_varint_field(&mut event, 2, step as u64);
        put_bytes(&mut event, 5, &summary);
        self.record(&event);
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// TFRecord framing: length, its masked CRC, the data, its masked CRC.
    fn record(&mut self, data: &[u8]) {
        let len = (data.len() as u64).to_le_bytes();
        self.bytes.extend_from_slice(&len);
        self.bytes
            .extend_from_slice(&masked_crc(&len).to_le_bytes());
        self.bytes.extend_from_slice(data);
        self.bytes
            .extend_from_slice(&masked_crc(data).to_le_bytes());
    }
}

/// TFRecord's checksum: CRC-32C, rotated right by 15 bits, plus a constant.
pub fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_varint_field(out: &mut Vec<u8>, field: u8, v: u64) {
    out.push(field << 3);
    put_varint(out, v);
}

fn put_double(out: &mut Vec<u8>, field: u8, v: f64) {
    out.push((field << 3) | 1);
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, field: u8, data: &[u8]) {
    out.push((field << 3) | 2);
    put_varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// The TensorBoard tag of a stored series (Stable-Baselines3's names where it has them).
pub fn tag(series_name: &str) -> &str {
    match series_name {
        series::RETURN => "rollout/ep_rew_mean",
        series::EVAL => "eval/mean_reward",
        series::EVAL_STD => "eval/std_reward",
        other => other,
    }
}

/// Writes every stored curve of the run in `dir` as event files under `out` (one per
/// training); returns the files written. The events carry the training's finishing time.
pub fn export(dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let (store, _) = RunStore::open_existing(dir)?;
    let finished = store.finish_times()?;
    let mut files: BTreeMap<(usize, Source), EventFile> = BTreeMap::new();
    for row in store.all_curves()? {
        let wall = finished
            .get(&(row.trial, row.source))
            .copied()
            .unwrap_or(0.0);
        files
            .entry((row.trial, row.source))
            .or_insert_with(|| EventFile::new(wall))
            .scalar(
                tag(&row.series),
                i64::try_from(row.step).unwrap_or(i64::MAX),
                row.value as f32,
                wall,
            );
    }
    let mut written = Vec::new();
    for ((trial, source), file) in files {
        let folder = out.join(format!("trial{trial}")).join(match source {
            Source::Task(i) => format!("task{i:04}"),
            Source::Multitask => "multitask".into(),
        });
        std::fs::create_dir_all(&folder).map_err(|e| crate::error::RunError::io(&folder, e))?;
        let path = folder.join("events.out.tfevents.0.mbtl");
        crate::fsutil::write_atomic(&path, &file.into_bytes())?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads TFRecord frames back, checking both checksums of each.
    fn frames(mut b: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let len = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
            assert_eq!(
                u32::from_le_bytes(b[8..12].try_into().unwrap()),
                masked_crc(&b[..8])
            );
            let data = &b[12..12 + len];
            assert_eq!(
                u32::from_le_bytes(b[12 + len..16 + len].try_into().unwrap()),
                masked_crc(data)
            );
            out.push(data.to_vec());
            b = &b[16 + len..];
        }
        out
    }

    #[test]
    fn crc32c_and_framing_follow_the_format() {
        // The CRC-32C check value, and TFRecord's mask of it.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        let mut f = EventFile::new(1.5);
        f.scalar("eval/mean_reward", 300, 42.5, 2.0);
        let frames = frames(&f.into_bytes());
        assert_eq!(frames.len(), 2);
        // Event{wall_time: 1.5, file_version: "brain.Event:2"}
        let mut first = vec![0x09];
        first.extend_from_slice(&1.5f64.to_le_bytes());
        first.extend_from_slice(&[0x1A, 13]);
        first.extend_from_slice(b"brain.Event:2");
        assert_eq!(frames[0], first);
        // Event{wall_time: 2, step: 300, summary{value{tag, simple_value: 42.5}}}
        let mut value = vec![0x0A, 16];
        value.extend_from_slice(b"eval/mean_reward");
        value.push(0x15);
        value.extend_from_slice(&42.5f32.to_le_bytes());
        let mut second = vec![0x09];
        second.extend_from_slice(&2.0f64.to_le_bytes());
        second.extend_from_slice(&[0x10, 0xAC, 0x02]); // varint 300
        second.extend_from_slice(&[0x2A, value.len() as u8 + 2, 0x0A, value.len() as u8]);
        second.extend_from_slice(&value);
        assert_eq!(frames[1], second);
    }
}
