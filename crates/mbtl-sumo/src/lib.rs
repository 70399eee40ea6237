//! SUMO as an evaluation backend of the traffic-signal scenario (`mbtl env rollout --backend
//! sumo`): any policy, fixed or trained, acts in SUMO itself on the authors' intersection, so
//! that a transfer row computed by mbtl's native simulator can be checked in the simulator the
//! authors used (traffic-signal-spec §7).
//!
//! What runs is the authors' transfer loop (spec §3.1–§3.6) over TraCI: SUMO is started with
//! their options for each episode, the network is built by SUMO's own `netconvert` from the
//! spec's geometry ([`scenario`]), the route file is theirs to the byte (mbtl's demand
//! generator), and the decision bookkeeping is mbtl-traffic's [`Tally`], the same code that
//! scores the native simulator, under either semantics. One simulation step is one TCP round
//! trip, whatever the number of vehicles: its answer carries every vehicle's values and the
//! list of running vehicles (whose order the authors' dictionaries follow) as subscriptions; a
//! vehicle's departure adds one to subscribe to it.
//!
//! The crate speaks TraCI itself ([`traci`]) rather than linking libsumo, so that mbtl needs
//! no SUMO at build time: a SUMO installation (e.g. `pip install eclipse-sumo`) is found at
//! run time.

mod scenario;
mod traci;

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mbtl_traffic::context::TrafficContext;
use mbtl_traffic::episode::{vehicle_key, Ledger, Metrics, Road, Seen, Semantics, Tally};
use mbtl_traffic::network::{Approach, Route};
use mbtl_traffic::signal::decision_phases;
use mbtl_traffic::state::{encode, STATE_DIM};
use mbtl_traffic::{TrafficError, EPISODE_STEPS};

use traci::{Connection, Value};

/// Errors of the SUMO backend, each naming what failed.
#[derive(Debug, thiserror::Error)]
pub enum SumoError {
    /// No SUMO installation was found where the backend looked.
    #[error("SUMO not found: {looked}; pass the sumo binary (--sumo PATH), set SUMO_HOME, or put sumo on PATH (scripts/traffic/sumo_check.sh installs eclipse-sumo into target/sumo-venv)")]
    NotFound { looked: String },
    /// A SUMO program could not be started.
    #[error("cannot start {program}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A SUMO program ended with an error.
    #[error("{program} failed ({status}): {stderr}")]
    Tool {
        program: PathBuf,
        status: String,
        stderr: String,
    },
    /// A scenario file could not be written or read.
    #[error("{path}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The TraCI connection failed.
    #[error("TraCI connection to SUMO")]
    Connection(#[source] std::io::Error),
    /// SUMO answered something this client does not understand.
    #[error("TraCI: {message}")]
    Protocol { message: String },
    /// SUMO refused a command.
    #[error("SUMO refused TraCI command 0x{command:02x}: {message}")]
    Refused { command: u8, message: String },
    /// The network SUMO loaded is not the context's.
    #[error("scenario: {message}")]
    Scenario { message: String },
    /// The context or its demand.
    #[error(transparent)]
    Traffic(#[from] TrafficError),
}

/// A SUMO installation: the simulator and its network builder.
#[derive(Clone, Debug)]
pub struct Sumo {
    sumo: PathBuf,
    netconvert: PathBuf,
}

/// Options the authors start SUMO with (spec §3.1) beside the network and routes: waiting time
/// remembered for the whole episode, no teleporting of stuck vehicles.
const SUMO_OPTIONS: [&str; 8] = [
    "--no-step-log",
    "true",
    "--waiting-time-memory",
    "5400",
    "--time-to-teleport",
    "-1",
    "--no-warnings",
    "true",
];

/// The incoming edges, whose vehicles the state and the waiting total count.
const INCOMING: [&str; 4] = ["N2TL", "E2TL", "S2TL", "W2TL"];

/// How long SUMO may take to open its port, and to answer one command.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Sumo {
    /// The installation of the `sumo` binary at `sumo` when given, else `$SUMO_HOME/bin`, else
    /// the `sumo` on `PATH`; `netconvert` is taken beside it, else from `PATH`.
    pub fn locate(sumo: Option<&Path>) -> Result<Sumo, SumoError> {
        let mut looked = Vec::new();
        let found = if let Some(p) = sumo {
            looked.push(p.display().to_string());
            p.is_file().then(|| p.to_path_buf())
        } else {
            let home = std::env::var_os("SUMO_HOME")
                .map(|h| PathBuf::from(h).join("bin").join("sumo"))
                .filter(|p| {
                    looked.push(p.display().to_string());
                    p.is_file()
                });
            home.or_else(|| {
                looked.push("sumo on PATH".into());
                on_path("sumo")
            })
        };
        let Some(sumo) = found else {
            return Err(SumoError::NotFound {
                looked: format!("looked for {}", looked.join(", ")),
            });
        };
        // Absolute, since netconvert runs in the scratch folder.
        let sumo = std::path::absolute(&sumo).unwrap_or(sumo);
        let beside = sumo.with_file_name("netconvert");
        let netconvert = if beside.is_file() {
            beside
        } else {
            on_path("netconvert").ok_or_else(|| SumoError::NotFound {
                looked: format!("no netconvert beside {} nor on PATH", sumo.display()),
            })?
        };
        Ok(Sumo { sumo, netconvert })
    }

    /// `episodes` episodes of the policy `actor(e)` makes (state → action) on `ctx` in SUMO,
    /// episode e on the route file of seed `first_seed + e` with a fresh ledger: the authors'
    /// transfer evaluation, as mbtl-traffic's `rollout_with` runs it natively.
    pub fn rollout_with<A: FnMut(&[f32; STATE_DIM]) -> usize>(
        &self,
        ctx: &TrafficContext,
        mut actor: impl FnMut(u32) -> A,
        first_seed: u32,
        episodes: u32,
        semantics: Semantics,
    ) -> Result<Vec<Metrics>, SumoError> {
        ctx.validate()?;
        let dir = Scratch::new()?;
        let net = scenario::build_net(&dir.0, ctx, &self.netconvert)?;
        (0..episodes)
            .map(|e| {
                let seed = first_seed + e;
                let routes = dir.0.join(format!("routes-{seed}.rou.xml"));
                scenario::write_routes(&routes, ctx, seed)?;
                let mut server = self.start(&dir.0, &net, &routes)?;
                let metrics = server.episode(ctx, actor(e), semantics);
                let closed = server.close();
                let metrics = metrics?;
                closed?;
                Ok(metrics)
            })
            .collect()
    }

    fn start(&self, dir: &Path, net: &Path, routes: &Path) -> Result<Server, SumoError> {
        // A free port: bound by the OS, released, handed to SUMO.
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(SumoError::Connection)?
            .port();
        let log = dir.join("sumo.log");
        let log_file = std::fs::File::create(&log).map_err(|source| SumoError::File {
            path: log.clone(),
            source,
        })?;
        let err_file = log_file.try_clone().map_err(|source| SumoError::File {
            path: log.clone(),
            source,
        })?;
        let mut child = Command::new(&self.sumo)
            .arg("-n")
            .arg(net)
            .arg("-r")
            .arg(routes)
            .args(SUMO_OPTIONS)
            .args(["--remote-port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(err_file)
            .spawn()
            .map_err(|source| SumoError::Spawn {
                program: self.sumo.clone(),
                source,
            })?;
        let started = Instant::now();
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) => {
                    let exited = child.try_wait().ok().flatten();
                    if exited.is_some() || started.elapsed() > START_TIMEOUT {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(match exited {
                            Some(status) => SumoError::Tool {
                                program: self.sumo.clone(),
                                status: status.to_string(),
                                stderr: std::fs::read_to_string(&log).unwrap_or_default(),
                            },
                            None => SumoError::Connection(e),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        let _ = stream.set_nodelay(true);
        stream
            .set_read_timeout(Some(ANSWER_TIMEOUT))
            .map_err(SumoError::Connection)?;
        let mut server = Server {
            conn: Connection::new(stream),
            child: Some(child),
        };
        server.conn.version()?;
        Ok(server)
    }
}

/// A scratch folder for one rollout's files, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, SumoError> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("mbtl-sumo-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|source| SumoError::File {
            path: dir.clone(),
            source,
        })?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the loop reads of one vehicle.
#[derive(Clone, Debug, Default)]
struct Vehicle {
    key: usize,
    lane: String,
    position: f64,
    speed: f64,
    waiting: f64,
}

/// The variables subscribed for every vehicle when it departs.
/// (The edge is the lane id's part before its last `_`, so it is not asked for.)
const VEHICLE_VARIABLES: [u8; 4] = [
    traci::VAR_LANE_ID,
    traci::VAR_LANEPOSITION,
    traci::VAR_SPEED,
    traci::VAR_ACCUMULATED_WAITING_TIME,
];

/// A running SUMO and the episode's view of it.
struct Server {
    conn: Connection,
    child: Option<Child>,
}

/// The key of a SUMO vehicle id `<from>_<to>_<index>` (the authors' ids, mbtl-traffic's
/// `Vehicle::id`).
fn key_of(id: &str) -> Result<usize, SumoError> {
    let approach = |c: &str| {
        Approach::ALL
            .into_iter()
            .find(|a| c.len() == 1 && c.starts_with(a.letter()))
    };
    let mut parts = id.split('_');
    let parsed = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(f), Some(t), Some(i), None) => approach(f)
            .zip(approach(t))
            .zip(i.parse::<usize>().ok())
            .map(|((from, to), index)| vehicle_key(Route { from, to }, index)),
        _ => None,
    };
    parsed.ok_or_else(|| SumoError::Scenario {
        message: format!("vehicle id '{id}' is not <from>_<to>_<index>"),
    })
}

/// Arm and lane index of an incoming lane id such as `N2TL_3`.
fn incoming_lane(lane: &str) -> Option<(Approach, usize)> {
    let (edge, index) = lane.rsplit_once('_')?;
    let approach = Approach::ALL
        .into_iter()
        .find(|a| edge.len() == 4 && edge.starts_with(a.letter()) && edge.ends_with("2TL"))?;
    Some((approach, index.parse().ok()?))
}

/// The bookkeeping of one SUMO episode between steps.
#[derive(Default)]
struct Counts {
    step: u32,
    inserted: usize,
    arrived: usize,
    vehicle_steps: u64,
    /// Every vehicle's values, by id.
    vehicles: HashMap<String, Vehicle>,
    /// The vehicles running now, in SUMO's order.
    running: Vec<String>,
    /// Each vehicle's last accumulated waiting, in the order first seen.
    waited: Vec<f64>,
    waited_at: HashMap<String, usize>,
}

impl Counts {
    fn absorb(&mut self, s: traci::Subscription) -> Result<Vec<String>, SumoError> {
        let mut departed = Vec::new();
        if s.response == traci::RESPONSE_SUBSCRIBE_SIM_VARIABLE {
            for (var, value) in s.values {
                match var {
                    traci::VAR_DEPARTED_VEHICLES_NUMBER => self.inserted += count(&value)?,
                    traci::VAR_ARRIVED_VEHICLES_NUMBER => self.arrived += count(&value)?,
                    traci::VAR_DEPARTED_VEHICLES_IDS => departed = value.into_list()?,
                    _ => {}
                }
            }
            return Ok(departed);
        }
        if s.response != traci::RESPONSE_SUBSCRIBE_VEHICLE_VARIABLE {
            return Ok(departed);
        }
        if s.object.is_empty() {
            // The vehicle domain's own subscription: the ids running, in SUMO's order.
            for (var, value) in s.values {
                if var == traci::ID_LIST {
                    self.running = value.into_list()?;
                }
            }
            return Ok(departed);
        }
        let v = match self.vehicles.entry(s.object) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let key = key_of(e.key())?;
                e.insert(Vehicle {
                    key,
                    ..Vehicle::default()
                })
            }
        };
        for (var, value) in s.values {
            match var {
                traci::VAR_LANE_ID => v.lane = value.into_str()?,
                traci::VAR_LANEPOSITION => v.position = value.double()?,
                traci::VAR_SPEED => v.speed = value.double()?,
                traci::VAR_ACCUMULATED_WAITING_TIME => v.waiting = value.double()?,
                _ => {}
            }
        }
        Ok(departed)
    }
}

fn count(v: &Value) -> Result<usize, SumoError> {
    let n = v.int()?;
    usize::try_from(n).map_err(|_| SumoError::Protocol {
        message: format!("negative vehicle count {n}"),
    })
}

impl Server {
    fn episode<A: FnMut(&[f32; STATE_DIM]) -> usize>(
        &mut self,
        ctx: &TrafficContext,
        mut policy: A,
        semantics: Semantics,
    ) -> Result<Metrics, SumoError> {
        let length = self
            .conn
            .get(traci::CMD_GET_LANE_VARIABLE, traci::VAR_LENGTH, "N2TL_0")?
            .double()?;
        if (length - ctx.arm_length).abs() > 1e-6 {
            return Err(SumoError::Scenario {
                message: format!(
                    "SUMO's N2TL_0 is {length} m long, the context's arms {} m",
                    ctx.arm_length
                ),
            });
        }
        self.conn.subscribe(
            traci::CMD_SUBSCRIBE_SIM_VARIABLE,
            "",
            &[
                traci::VAR_DEPARTED_VEHICLES_NUMBER,
                traci::VAR_ARRIVED_VEHICLES_NUMBER,
                traci::VAR_DEPARTED_VEHICLES_IDS,
            ],
        )?;
        let mut c = Counts::default();
        let running =
            self.conn
                .subscribe(traci::CMD_SUBSCRIBE_VEHICLE_VARIABLE, "", &[traci::ID_LIST])?;
        c.absorb(running)?;
        let mut tally = Tally::new(semantics);
        let mut ledger = Ledger::default();
        let mut previous = None;
        while c.step < EPISODE_STEPS {
            let seen: Vec<Seen> = c
                .running
                .iter()
                .map(|id| {
                    let v = &c.vehicles[id];
                    let edge = v.lane.rsplit_once('_').map_or("", |(edge, _)| edge);
                    let road = if INCOMING.contains(&edge) {
                        Road::Incoming
                    } else if edge.starts_with("TL2") {
                        Road::Outgoing
                    } else {
                        Road::Junction
                    };
                    Seen {
                        key: v.key,
                        road,
                        waiting: v.waiting,
                        speed: v.speed,
                    }
                })
                .collect();
            tally.decide(&mut ledger, seen, true);
            let state = encode(
                c.running.iter().filter_map(|id| {
                    let v = &c.vehicles[id];
                    let (arm, lane) = incoming_lane(&v.lane)?;
                    Some((arm, lane, ctx.arm_length - v.position))
                }),
                ctx.arm_length,
            );
            let action = policy(&state);
            for (phase, secs) in decision_phases(previous, action) {
                self.conn.set_int(
                    traci::CMD_SET_TL_VARIABLE,
                    traci::TL_PHASE_INDEX,
                    "TL",
                    phase as i32,
                )?;
                for _ in 0..secs {
                    if c.step >= EPISODE_STEPS {
                        break;
                    }
                    self.step(&mut c)?;
                }
            }
            previous = Some(action);
        }
        let mean = if c.waited.is_empty() {
            0.0
        } else {
            c.waited.iter().sum::<f64>() / c.waited.len() as f64
        };
        Ok(tally.metrics(c.inserted, c.arrived, c.vehicle_steps, mean))
    }

    fn step(&mut self, c: &mut Counts) -> Result<(), SumoError> {
        let mut departed = Vec::new();
        for s in self.conn.step()? {
            departed.extend(c.absorb(s)?);
        }
        for id in departed {
            let s = self.conn.subscribe(
                traci::CMD_SUBSCRIBE_VEHICLE_VARIABLE,
                &id,
                &VEHICLE_VARIABLES,
            )?;
            c.absorb(s)?;
        }
        c.step += 1;
        c.vehicle_steps += c.running.len() as u64;
        for id in &c.running {
            let Some(v) = c.vehicles.get(id) else {
                return Err(SumoError::Protocol {
                    message: format!("vehicle '{id}' runs but was never reported departed"),
                });
            };
            match c.waited_at.get(id) {
                Some(&at) => c.waited[at] = v.waiting,
                None => {
                    c.waited_at.insert(id.clone(), c.waited.len());
                    c.waited.push(v.waiting);
                }
            }
        }
        Ok(())
    }

    /// Ends the episode: SUMO closes and exits.
    fn close(&mut self) -> Result<(), SumoError> {
        let closed = self.conn.close();
        if let Some(mut child) = self.child.take() {
            if closed.is_err() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        closed
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vehicle_ids_map_to_the_native_keys() {
        let r = Route {
            from: Approach::West,
            to: Approach::East,
        };
        assert_eq!(key_of("W_E_12").unwrap(), vehicle_key(r, 12));
        assert_ne!(key_of("E_W_12").unwrap(), key_of("W_E_12").unwrap());
        for bad in ["W_E", "W_E_x", "X_E_1", "W_E_1_2", "WW_E_1"] {
            assert!(key_of(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_incoming_lanes_have_an_arm() {
        assert_eq!(incoming_lane("N2TL_3"), Some((Approach::North, 3)));
        assert_eq!(incoming_lane("W2TL_0"), Some((Approach::West, 0)));
        assert_eq!(incoming_lane("TL2N_0"), None);
        assert_eq!(incoming_lane(":TL_4_0"), None);
    }

    #[test]
    fn a_missing_sumo_is_named_with_where_it_was_looked_for() {
        let err = Sumo::locate(Some(Path::new("/nonexistent/sumo"))).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/nonexistent/sumo"), "{text}");
        assert!(text.contains("--sumo"), "{text}");
    }
}
