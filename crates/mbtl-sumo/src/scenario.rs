//! The authors' intersection as SUMO's input files (traffic-signal-spec §1, §2): the network
//! built by SUMO's own `netconvert` from the spec's geometry (the same plain-XML inputs the
//! authors' net was made from), and their route files from mbtl's bit-exact demand generator.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use mbtl_traffic::context::TrafficContext;
use mbtl_traffic::network::{lane_movements, target_lane, Approach, LANES};
use mbtl_traffic::signal::{PHASES, STATIC_PHASE_SECONDS};

use crate::SumoError;

/// The arms in the order netconvert numbers their links (N, E, S, W: the signal program's
/// link order, `Approach::first_link`).
const LINK_ORDER: [Approach; 4] = [
    Approach::North,
    Approach::East,
    Approach::South,
    Approach::West,
];

/// The speed netconvert writes on every lane of an edge declared with the authors' 13.89 m/s;
/// the authors' speed context replaces that text in the net file (spec §4), so turn lanes
/// inside the junction keep the limits netconvert derived for them.
const TEMPLATE_SPEED: &str = "speed=\"13.89\"";

fn write(path: &Path, text: &str) -> Result<(), SumoError> {
    std::fs::write(path, text).map_err(|source| SumoError::File {
        path: path.to_path_buf(),
        source,
    })
}

/// netconvert's inputs for an arm length of `length` metres.
fn inputs(length: f64) -> [(&'static str, String); 4] {
    let mut nodes =
        String::from("<nodes>\n  <node id=\"TL\" x=\"0\" y=\"0\" type=\"traffic_light\"/>\n");
    let mut edges = String::from("<edges>\n");
    let mut cons = String::from("<connections>\n");
    for a in LINK_ORDER {
        let (x, y) = a.end(length);
        let l = a.letter();
        let _ = writeln!(
            nodes,
            "  <node id=\"D{l}\" x=\"{x:?}\" y=\"{y:?}\" type=\"dead_end\"/>"
        );
        for (id, from, to) in [
            (format!("{l}2TL"), format!("D{l}"), "TL".to_string()),
            (format!("TL2{l}"), "TL".to_string(), format!("D{l}")),
        ] {
            let _ = writeln!(
                edges,
                "  <edge id=\"{id}\" from=\"{from}\" to=\"{to}\" numLanes=\"{LANES}\" {TEMPLATE_SPEED} priority=\"-1\" length=\"{length:?}\"/>"
            );
        }
        // Per arm, the connections in the signal program's link order (right, the three
        // straight lanes, left), which netconvert keeps as the link indices.
        let mut links: Vec<(usize, mbtl_traffic::network::Movement)> = Vec::new();
        for lane in 0..LANES {
            for &m in lane_movements(lane) {
                links.push((lane, m));
            }
        }
        links.sort_by_key(|&(lane, m)| mbtl_traffic::network::link_index(a, lane, m));
        for (lane, m) in links {
            let _ = writeln!(
                cons,
                "  <connection from=\"{l}2TL\" to=\"TL2{}\" fromLane=\"{lane}\" toLane=\"{}\"/>",
                a.exit(m).letter(),
                target_lane(lane, m)
            );
        }
    }
    nodes.push_str("</nodes>\n");
    edges.push_str("</edges>\n");
    cons.push_str("</connections>\n");
    let mut tll = String::from(
        "<tlLogics>\n  <tlLogic id=\"TL\" type=\"static\" programID=\"0\" offset=\"0\">\n",
    );
    for p in PHASES {
        let _ = writeln!(
            tll,
            "    <phase duration=\"{STATIC_PHASE_SECONDS}\" state=\"{p}\"/>"
        );
    }
    tll.push_str("  </tlLogic>\n</tlLogics>\n");
    [
        ("n.nod.xml", nodes),
        ("n.edg.xml", edges),
        ("n.con.xml", cons),
        ("n.tll.xml", tll),
    ]
}

/// Builds `folder/net.xml` for `ctx` with `netconvert` and sets its speed limit the authors'
/// way (every 13.89 in the file replaced by the context's value).
pub(crate) fn build_net(
    folder: &Path,
    ctx: &TrafficContext,
    netconvert: &Path,
) -> Result<PathBuf, SumoError> {
    for (name, text) in inputs(ctx.arm_length) {
        write(&folder.join(name), &text)?;
    }
    let out = Command::new(netconvert)
        .current_dir(folder)
        .args([
            "-n",
            "n.nod.xml",
            "-e",
            "n.edg.xml",
            "-x",
            "n.con.xml",
            "-i",
            "n.tll.xml",
            "--no-turnarounds",
            "true",
            "-o",
            "net.xml",
        ])
        .output()
        .map_err(|source| SumoError::Spawn {
            program: netconvert.to_path_buf(),
            source,
        })?;
    if !out.status.success() {
        return Err(SumoError::Tool {
            program: netconvert.to_path_buf(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    let net = folder.join("net.xml");
    let text = std::fs::read_to_string(&net).map_err(|source| SumoError::File {
        path: net.clone(),
        source,
    })?;
    if !text.contains(TEMPLATE_SPEED) {
        return Err(SumoError::Scenario {
            message: format!(
                "{} has no {TEMPLATE_SPEED} to set the speed limit on",
                net.display()
            ),
        });
    }
    // Python's str(float(v)), which Rust's `{:?}` matches for the grid's values (14.0, 0.5).
    let speed = format!("speed=\"{:?}\"", ctx.speed_limit);
    write(&net, &text.replace(TEMPLATE_SPEED, &speed))?;
    Ok(net)
}

/// Writes the authors' route file of route seed `seed` for `ctx`.
pub(crate) fn write_routes(path: &Path, ctx: &TrafficContext, seed: u32) -> Result<(), SumoError> {
    let vehicles =
        mbtl_traffic::demand::generate(seed, ctx.cars, mbtl_traffic::demand::TURN_SHARE)?;
    let text = mbtl_traffic::demand::route_file(&vehicles, ctx.intersection().depart_speed());
    write(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_follow_the_signal_programs_link_order() {
        let [_, (_, edges), (_, cons), (_, tll)] = inputs(750.0);
        let lines: Vec<&str> = cons
            .lines()
            .filter(|l| l.contains("<connection "))
            .collect();
        assert_eq!(lines.len(), 20);
        // Link 0: N's right turn (lane 0 → W), 1–3: N's straight lanes, 4: N's left (lane 3 → E).
        assert!(lines[0].contains("from=\"N2TL\" to=\"TL2W\" fromLane=\"0\" toLane=\"0\""));
        assert!(lines[1].contains("from=\"N2TL\" to=\"TL2S\" fromLane=\"0\" toLane=\"0\""));
        assert!(lines[3].contains("from=\"N2TL\" to=\"TL2S\" fromLane=\"2\" toLane=\"2\""));
        assert!(lines[4].contains("from=\"N2TL\" to=\"TL2E\" fromLane=\"3\" toLane=\"3\""));
        assert!(lines[15].contains("from=\"W2TL\" to=\"TL2S\""));
        assert_eq!(edges.matches("length=\"750.0\"").count(), 8);
        assert_eq!(tll.matches("<phase ").count(), 8);
    }
}
