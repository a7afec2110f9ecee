//! Peers that are processes, on one machine or several (`tagtrain train --peers A,B,… --rank
//! K`), exchanging over burn's own tensor transport: `burn-communication`, the layer under
//! `burn-remote`, whose tensor service lets a node expose a tensor for a number of downloads
//! and fetch the ones other nodes expose, over WebSocket.
//!
//! Each peer serves its values at its own address and downloads every other peer's: an
//! all-gather, `(world − 1) × values` bytes in and out per peer and round (4 bytes a value).
//! burn-collective, which built all-reduces on the same transport, stopped at burn 0.21; in
//! 0.22 burn's collectives are CUDA's (NCCL) alone, so the step's combination is ours
//! ([`super::state::combine`]) and the transport burn's.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use burn::tensor::TensorData;
use burn_communication::Address;
use burn_communication::external_comm::{
    ExternalCommServer, ExternalCommService, TensorTransferId,
};
use burn_communication::websocket::{WebSocket, WsServer};
use tokio_util::sync::CancellationToken;

use super::{Exchange, peer_error};
use crate::error::Result;

type Service = ExternalCommService<burn_flex::Flex, WebSocket>;

/// How long a peer waits for the others.
#[derive(Debug, Clone, Copy)]
pub struct PeerTimeouts {
    /// For every peer to listen when the run starts (they may start one after another).
    pub join: Duration,
    /// For one exchange (a peer still validating or saving is slower than a step).
    pub exchange: Duration,
}

impl Default for PeerTimeouts {
    fn default() -> Self {
        Self { join: Duration::from_secs(120), exchange: Duration::from_secs(600) }
    }
}

/// This process's end of a run over the network.
pub struct NetworkExchange {
    rank: usize,
    addresses: Vec<String>,
    runtime: tokio::runtime::Runtime,
    service: Arc<Service>,
    stop_serving: CancellationToken,
    round: u64,
    timeouts: PeerTimeouts,
}

impl NetworkExchange {
    /// Serves this peer's values at `addresses[rank]` (`host:port`), then waits until every
    /// other peer serves at its address.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Peer`]: an address that does not resolve, a port this process cannot
    /// listen on, a peer not listening within `timeouts.join`.
    pub fn join(addresses: Vec<String>, rank: usize, timeouts: PeerTimeouts) -> Result<Self> {
        let own = addresses.get(rank).ok_or_else(|| peer_error(rank, "no such rank"))?;
        let bind = resolve(own, rank)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tagtrain-peers")
            .enable_all()
            .build()
            .map_err(|e| peer_error(rank, format!("cannot start its network threads: {e}")))?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(bind)).map_err(|e| {
            peer_error(rank, format!("cannot listen at {own}: {e} (is the port taken?)"))
        })?;
        let stop_serving = CancellationToken::new();
        let service = Arc::new(Service::new(stop_serving.clone()));
        let server = WsServer::new(0).route_external_comm(service.clone());
        let stop = stop_serving.clone();
        runtime.spawn(async move {
            let _ = server.serve_on(listener, async move { stop.cancelled().await }).await;
        });
        let started = Instant::now();
        for (k, address) in addresses.iter().enumerate().filter(|&(k, _)| k != rank) {
            let peer = resolve(address, k)?;
            while TcpStream::connect_timeout(&peer, Duration::from_secs(1)).is_err() {
                if started.elapsed() > timeouts.join {
                    return Err(peer_error(
                        k,
                        format!(
                            "nothing listens at {address} after {} s: start every peer with the \
                             same --peers list and its own --rank",
                            timeouts.join.as_secs()
                        ),
                    ));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Ok(Self { rank, addresses, runtime, service, stop_serving, round: 0, timeouts })
    }

    fn world(&self) -> usize {
        self.addresses.len()
    }
}

impl Exchange for NetworkExchange {
    fn all_gather(&mut self, values: Vec<f32>) -> Result<Vec<Vec<f32>>> {
        if self.world() == 1 {
            return Ok(vec![values]);
        }
        self.round += 1;
        let id = TensorTransferId::from(self.round);
        let data = TensorData::new(values.clone(), [values.len()]);
        let downloads = (self.world() - 1) as u32;
        self.runtime.block_on(self.service.expose_data(data, downloads, id));
        // Every download at once; each is a task, so a failure inside the transport (which
        // panics on a connection it cannot open) is an error here, not the end of the process.
        let tasks: Vec<_> = (0..self.world())
            .filter(|&k| k != self.rank)
            .map(|k| {
                let service = self.service.clone();
                let address = Address::from(format!("ws://{}", self.addresses[k]).as_str());
                (k, self.runtime.spawn(async move { service.download_tensor(address, id).await }))
            })
            .collect();
        let mut gathered = vec![Vec::new(); self.world()];
        gathered[self.rank] = values;
        let deadline = self.timeouts.exchange;
        for (k, task) in tasks {
            let address = &self.addresses[k];
            let outcome =
                self.runtime.block_on(async { tokio::time::timeout(deadline, task).await });
            let data = match outcome {
                Err(_) => {
                    return Err(peer_error(
                        k,
                        format!("{address} sent nothing for {} s", deadline.as_secs()),
                    ));
                }
                Ok(Err(_)) | Ok(Ok(None)) => {
                    return Err(peer_error(
                        k,
                        format!("the connection to {address} closed: it left the run"),
                    ));
                }
                Ok(Ok(Some(data))) => data,
            };
            gathered[k] = data
                .try_into_vec::<f32>()
                .map_err(|e| peer_error(k, format!("it sent something else: {e:?}")))?;
        }
        Ok(gathered)
    }

    fn finish(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            let waiting =
                self.runtime.block_on(async { self.service.exposed_tensors.lock().await.len() });
            if waiting == 0 {
                return Ok(());
            }
            if started.elapsed() > self.timeouts.exchange {
                return Err(peer_error(
                    (self.rank + 1) % self.world(),
                    "the peers did not take this peer's last values",
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NetworkExchange {
    fn drop(&mut self) {
        self.stop_serving.cancel();
    }
}

/// `host:port` as a socket address.
fn resolve(address: &str, rank: usize) -> Result<SocketAddr> {
    address.to_socket_addrs().ok().and_then(|mut found| found.next()).ok_or_else(|| {
        peer_error(
            rank,
            format!("'{address}' is not an address: give host:port, e.g. 10.0.0.2:7070"),
        )
    })
}
