//! `train`'s data-parallel flags: `--devices N` (peers that are threads of this process),
//! `--peers` with `--rank` (peers that are processes, here or on other machines), and
//! `--accumulate N` (one process taking each batch in N passes, as N peers would).

use std::thread::JoinHandle;

use anyhow::Context;
use tagtrain::TrainingSession;
#[cfg(feature = "distributed")]
use tagtrain::train::peers::network::{NetworkExchange, PeerTimeouts};
use tagtrain::train::peers::{Exchange, Peers, local::LocalExchange};

use crate::args::Args;

/// Who trains this run.
pub(super) enum PeerPlan {
    /// This process alone.
    Alone,
    /// This many peers in this process (`--devices`).
    Threads(usize),
    /// This process as `rank` of the peers at `addresses` (`--peers`, `--rank`).
    Network { addresses: Vec<String>, rank: usize },
}

impl PeerPlan {
    /// The plan the flags ask for.
    ///
    /// # Errors
    /// A usage error for flags that do not go together or values out of range.
    pub(super) fn from_args(args: &Args) -> anyhow::Result<Self> {
        let devices = args.number::<usize>("devices")?;
        let rank = args.number::<usize>("rank")?;
        let peers = args.value("peers");
        if args.number::<usize>("accumulate")?.is_some_and(|n| n > 1)
            && (peers.is_some() || devices.is_some_and(|n| n > 1))
        {
            return Err(args.usage_error(
                "--accumulate takes a batch in passes on one process: not with --devices or --peers",
            ));
        }
        match (devices, peers, rank) {
            (Some(_), Some(_), _) => Err(args.usage_error(
                "--devices starts the peers in this process, --peers in several: use one",
            )),
            (Some(0), ..) => Err(args.usage_error("--devices takes 1 or more")),
            (Some(n), None, None) if n > 1 => Ok(Self::Threads(n)),
            (_, None, Some(_)) => Err(args.usage_error("--rank goes with --peers")),
            (_, None, None) => Ok(Self::Alone),
            (_, Some(_), None) => Err(args.usage_error(
                "--peers needs --rank: this process's place in the list (0 writes the outputs)",
            )),
            (_, Some(list), Some(rank)) => {
                let addresses: Vec<String> = list
                    .split(',')
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty())
                    .collect();
                if addresses.len() < 2 {
                    return Err(args.usage_error(
                        "--peers lists every peer's HOST:PORT, rank 0 first: two or more",
                    ));
                }
                if rank >= addresses.len() {
                    return Err(args.usage_error(format!(
                        "--rank is 0 to {} for the {} peers listed",
                        addresses.len() - 1,
                        addresses.len()
                    )));
                }
                Ok(Self::Network { addresses, rank })
            }
        }
    }

    /// This process's rank: 0 (the one that writes the outputs) unless `--rank` says otherwise.
    pub(super) fn rank(&self) -> usize {
        match self {
            Self::Network { rank, .. } => *rank,
            _ => 0,
        }
    }
}

/// Connects `session` to the other processes of the run (waiting for them to start).
#[cfg(feature = "distributed")]
pub(super) fn join_network(
    session: &mut TrainingSession,
    addresses: &[String],
    rank: usize,
) -> anyhow::Result<()> {
    let world = addresses.len();
    eprintln!("peer {rank} of {world}: waiting for {}", addresses.join(", "));
    let exchange = NetworkExchange::join(addresses.to_vec(), rank, PeerTimeouts::default())?;
    join(session, rank, world, Box::new(exchange))?;
    eprintln!("peer {rank} of {world}: every peer joined; each takes its shard of every batch");
    Ok(())
}

/// Without the `distributed` feature there is no network transport.
#[cfg(not(feature = "distributed"))]
pub(super) fn join_network(
    _session: &mut TrainingSession,
    _addresses: &[String],
    _rank: usize,
) -> anyhow::Result<()> {
    anyhow::bail!(
        "this tagtrain was built without the `distributed` feature: build it with the default \
         features for --peers"
    )
}

/// Starts `others` (ranks 1, 2, … of a run in this process) on threads of their own, each
/// stepping to the end, and joins `session` to them as rank 0.
pub(super) fn start_threads(
    session: &mut TrainingSession,
    others: Vec<TrainingSession>,
) -> anyhow::Result<Vec<JoinHandle<anyhow::Result<()>>>> {
    let world = others.len() + 1;
    let mut ends = LocalExchange::group(world).into_iter();
    let own = ends.next().context("an empty group")?;
    let threads = others
        .into_iter()
        .zip(ends)
        .enumerate()
        .map(|(k, (mut peer, end))| {
            std::thread::Builder::new().name(format!("peer-{}", k + 1)).spawn(move || {
                join(&mut peer, k + 1, world, Box::new(end))?;
                step_to_end(&mut peer)
            })
        })
        .collect::<std::io::Result<Vec<_>>>()
        .context("cannot start the peers' threads")?;
    join(session, 0, world, Box::new(own))?;
    eprintln!("{world} peers in this process; each takes its shard of every batch");
    Ok(threads)
}

/// Waits for the peer threads; the first one's failure is the run's.
pub(super) fn wait_for_threads(threads: Vec<JoinHandle<anyhow::Result<()>>>) -> anyhow::Result<()> {
    for (k, thread) in threads.into_iter().enumerate() {
        match thread.join() {
            Ok(outcome) => outcome.with_context(|| format!("peer {}", k + 1))?,
            Err(_) => anyhow::bail!("peer {} stopped with an internal error", k + 1),
        }
    }
    Ok(())
}

/// Steps a peer that writes nothing (rank 1, 2, …) until the run is done, then waits for the
/// others to have its last values.
pub(super) fn step_to_end(session: &mut TrainingSession) -> anyhow::Result<()> {
    while !session.is_done() {
        pollster::block_on(session.step())?;
    }
    session.leave_peers()?;
    Ok(())
}

fn join(
    session: &mut TrainingSession,
    rank: usize,
    world: usize,
    exchange: Box<dyn Exchange>,
) -> anyhow::Result<()> {
    let peers = Peers::new(rank, world, exchange)?;
    pollster::block_on(session.join_peers(peers))?;
    Ok(())
}
