//! `mbtl bench nn`: the network core on the learners' own shapes (single thread). One training
//! step is a batched forward, the backward pass (parameter gradients, and input gradients of
//! every layer but the first) and an Adam update; GFLOP/s counts two per multiply-add of the
//! products. This is the roofline the learners' speed is judged against: a learner's updates
//! cost (its products' FLOPs) / (this rate) at the very least.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use mbtl_nn::{mlp_spec, Activation, Adam, Cache, Mlp};

#[derive(Args)]
pub(crate) struct NnBenchArgs {
    /// Seconds per measurement (each shape and pass).
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
}

struct Shape {
    what: &'static str,
    sizes: &'static [usize],
    act: Activation,
    batch: usize,
}

const SHAPES: [Shape; 6] = [
    Shape {
        what: "PPO CartPole actor",
        sizes: &[4, 64, 64, 2],
        act: Activation::Tanh,
        batch: 256,
    },
    Shape {
        what: "PPO CartPole critic",
        sizes: &[4, 64, 64, 1],
        act: Activation::Tanh,
        batch: 256,
    },
    Shape {
        what: "DQN CartPole Q-network",
        sizes: &[4, 256, 256, 2],
        act: Activation::Relu,
        batch: 64,
    },
    Shape {
        what: "SAC Pendulum critic",
        sizes: &[4, 256, 256, 1],
        act: Activation::Relu,
        batch: 256,
    },
    Shape {
        what: "SAC Pendulum actor",
        sizes: &[3, 256, 256, 2],
        act: Activation::Relu,
        batch: 256,
    },
    // The MBTL traffic DQN (`dqn-episodic`): a batch of 100 states and their 100 successors.
    Shape {
        what: "DQN traffic Q-network",
        sizes: &[80, 400, 400, 400, 400, 4],
        act: Activation::Mish,
        batch: 200,
    },
];

/// Runs `step` repeatedly for about `seconds` and returns the mean seconds per call.
fn time_per_call(seconds: f64, mut step: impl FnMut()) -> f64 {
    for _ in 0..10 {
        step();
    }
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..10 {
            step();
        }
        calls += 10;
    }
    start.elapsed().as_secs_f64() / calls as f64
}

pub(crate) fn run(args: &NnBenchArgs) -> Result<ExitCode> {
    println!(
        "{:<24} {:>14} {:>6} {:>13} {:>9} {:>13} {:>9} {:>11}",
        "network", "sizes", "batch", "train µs", "GFLOP/s", "forward µs", "GFLOP/s", "act 1 µs"
    );
    for shape in &SHAPES {
        let hidden = &shape.sizes[1..shape.sizes.len() - 1];
        let (input, output) = (shape.sizes[0], *shape.sizes.last().expect("sizes"));
        let mut net = Mlp::new(mlp_spec(input, hidden, output, shape.act), 1.0, 1)?;
        let b = shape.batch;
        let x: Vec<f32> = (0..b * input)
            .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
            .collect();
        let g_out: Vec<f32> = (0..b * output)
            .map(|i| ((i * 13 % 7) as f32 - 3.0) / 1e3)
            .collect();
        let mut cache = Cache::default();
        let mut grads = vec![0.0f32; net.n_params()];
        let mut adam = Adam::new(net.n_params(), 1e-4);
        let macs: Vec<f64> = shape
            .sizes
            .windows(2)
            .map(|w| (b * w[0] * w[1]) as f64)
            .collect();
        let forward_flop = 2.0 * macs.iter().sum::<f64>();
        let backward_flop = 2.0 * (macs.iter().sum::<f64>() + macs[1..].iter().sum::<f64>());
        let train = time_per_call(args.seconds, || {
            net.forward(&x, b, &mut cache);
            grads.fill(0.0);
            net.backward(&mut cache, &g_out, &mut grads, None);
            adam.step(&mut net.params, &grads);
        });
        let forward = time_per_call(args.seconds, || {
            black_box(net.forward(&x, b, &mut cache));
        });
        let mut scratch = Vec::new();
        let mut out = vec![0.0f32; output];
        let act = time_per_call(args.seconds / 4.0, || {
            net.forward_one(&x[..input], &mut scratch, &mut out);
            black_box(&out);
        });
        println!(
            "{:<24} {:>14} {:>6} {:>13.1} {:>9.1} {:>13.1} {:>9.1} {:>11.2}",
            shape.what,
            shape
                .sizes
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("-"),
            b,
            train * 1e6,
            (forward_flop + backward_flop) / train / 1e9,
            forward * 1e6,
            forward_flop / forward / 1e9,
            act * 1e6
        );
    }
    Ok(ExitCode::SUCCESS)
}
