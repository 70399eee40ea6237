//! Parameters as safetensors: one flat `f32` tensor per network in PyTorch's layout (each
//! weight `out × in`, then its bias), and a JSON header in the safetensors metadata saying what
//! the file is (written atomically: temp file + rename).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use serde::{de::DeserializeOwned, Serialize};

use crate::mlp::{Mlp, MlpSpec};
use crate::NnError;

fn file_err(path: &Path, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> NnError {
    NnError::File {
        path: path.display().to_string(),
        source: source.into(),
    }
}

/// Saves named networks with a header (any serialisable value, stored under `"mbtl"`).
pub fn save<H: Serialize>(path: &Path, header: &H, nets: &[(&str, &Mlp)]) -> Result<(), NnError> {
    let mut meta = HashMap::new();
    meta.insert(
        "mbtl".to_string(),
        serde_json::to_string(header).map_err(|e| file_err(path, e))?,
    );
    // Sorted, so the same networks always give the same header text.
    let mut specs = BTreeMap::new();
    for (name, net) in nets {
        specs.insert(name.to_string(), net.spec().clone());
    }
    meta.insert(
        "networks".to_string(),
        serde_json::to_string(&specs).map_err(|e| file_err(path, e))?,
    );
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = nets
        .iter()
        .map(|(name, net)| {
            (
                name.to_string(),
                net.torch_layout()
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                vec![net.n_params()],
            )
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(n, b, shape)| {
            Ok((
                n.clone(),
                TensorView::new(Dtype::F32, shape.clone(), b).map_err(|e| file_err(path, e))?,
            ))
        })
        .collect::<Result<_, NnError>>()?;
    let data = safetensors::serialize(views, Some(meta)).map_err(|e| file_err(path, e))?;
    let data = sorted_header(data).map_err(|e| file_err(path, e))?;
    mbtl_fs::write_durable(path, &data).map_err(|e| file_err(path, e))
}

/// The same file with its JSON header's keys sorted: `safetensors` writes the metadata map in
/// hash order, so two saves of the same networks differed in their bytes. The header keeps its
/// length (same text, other order) and its 8-byte padding.
fn sorted_header(data: Vec<u8>) -> Result<Vec<u8>, String> {
    let n = u64::from_le_bytes(data[..8].try_into().map_err(|_| "short file")?) as usize;
    let header: serde_json::Value =
        serde_json::from_slice(&data[8..8 + n]).map_err(|e| e.to_string())?;
    let mut text = serde_json::to_string(&header).map_err(|e| e.to_string())?;
    while text.len() % 8 != 0 {
        text.push(' ');
    }
    let mut out = Vec::with_capacity(8 + text.len() + data.len() - 8 - n);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&data[8 + n..]);
    Ok(out)
}

/// Loads the header and every network of a file written by [`save`].
pub fn load<H: DeserializeOwned>(path: &Path) -> Result<(H, HashMap<String, Mlp>), NnError> {
    let data = std::fs::read(path).map_err(|e| file_err(path, e))?;
    let (_, metadata) =
        safetensors::SafeTensors::read_metadata(&data).map_err(|e| file_err(path, e))?;
    let meta = metadata
        .metadata()
        .clone()
        .ok_or_else(|| file_err(path, "no metadata: not an mbtl policy file"))?;
    let header: H = serde_json::from_str(
        meta.get("mbtl")
            .ok_or_else(|| file_err(path, "metadata has no 'mbtl' header"))?,
    )
    .map_err(|e| file_err(path, format!("header: {e}")))?;
    let specs: HashMap<String, MlpSpec> = serde_json::from_str(
        meta.get("networks")
            .ok_or_else(|| file_err(path, "metadata has no 'networks'"))?,
    )
    .map_err(|e| file_err(path, format!("networks: {e}")))?;
    let tensors = safetensors::SafeTensors::deserialize(&data).map_err(|e| file_err(path, e))?;
    let mut nets = HashMap::new();
    for (name, spec) in specs {
        let t = tensors
            .tensor(&name)
            .map_err(|e| file_err(path, format!("tensor '{name}': {e}")))?;
        if t.dtype() != Dtype::F32 {
            return Err(file_err(
                path,
                format!("tensor '{name}' is {:?}, expected F32", t.dtype()),
            ));
        }
        let params: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let net = Mlp::from_torch_layout(spec, params)
            .map_err(|e| file_err(path, format!("tensor '{name}': {e}")))?;
        nets.insert(name, net);
    }
    Ok((header, nets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Activation;

    #[test]
    fn round_trip_with_header() {
        let dir = std::env::temp_dir().join(format!("mbtl-nn-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.safetensors");
        let spec = MlpSpec {
            sizes: vec![4, 8, 2],
            hidden: Activation::Tanh,
            output: Activation::Identity,
        };
        let actor = Mlp::new(spec.clone(), 0.01, 1).unwrap();
        let critic = Mlp::new(
            MlpSpec {
                sizes: vec![4, 8, 1],
                ..spec
            },
            1.0,
            2,
        )
        .unwrap();
        save(
            &path,
            &serde_json::json!({"algo": "ppo", "env": "cartpole"}),
            &[("actor", &actor), ("critic", &critic)],
        )
        .unwrap();
        let first = std::fs::read(&path).unwrap();
        for _ in 0..4 {
            save(
                &path,
                &serde_json::json!({"algo": "ppo", "env": "cartpole"}),
                &[("actor", &actor), ("critic", &critic)],
            )
            .unwrap();
            assert_eq!(
                std::fs::read(&path).unwrap(),
                first,
                "same networks, same bytes"
            );
        }
        let (header, nets): (serde_json::Value, _) = load(&path).unwrap();
        assert_eq!(header["algo"], "ppo");
        assert_eq!(nets["actor"], actor);
        assert_eq!(nets["critic"], critic);
        std::fs::write(&path, b"not a safetensors file").unwrap();
        assert!(load::<serde_json::Value>(&path)
            .unwrap_err()
            .to_string()
            .contains("p.safetensors"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
