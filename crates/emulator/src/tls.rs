//! `--tls`: HTTPS with a certificate authority made at start-up, and the listener that serves
//! it (HTTP/2 by ALPN, as the real APIs negotiate it, else HTTP/1.1).
//!
//! The authority lives as long as the emulator: a new key pair at every start, its certificate
//! written to `ca.pem` in the state directory for clients to trust (`SSL_CERT_FILE`,
//! `NODE_EXTRA_CA_CERTS`, `AWS_CA_BUNDLE`), its private key never written anywhere. The leaf it
//! signs names `127.0.0.1`, `localhost` and the wildcard site hosts.
//!
//! The same port also answers plain HTTP (the first byte of a TLS connection is a handshake
//! record, 0x16; an HTTP request starts with a letter), so that live sites stay reachable over
//! `http://` with their Host header, as `SITEDROP_SITE_RESOLVE` and the tests fetch them, and
//! so does `/_emulator/`. The platform APIs refuse plain HTTP there (see the router).

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Why the TLS set-up failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen could not make a key or a certificate.
    #[error("could not make the emulator's certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls refused the certificate or the key.
    #[error("could not configure TLS: {0}")]
    Config(#[from] rustls::Error),
    /// The CA file could not be written.
    #[error("could not write the CA certificate to {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// The names the leaf certificate covers: the address clients dial, and the site hosts (one
/// level under each suffix; deeper hosts such as `<id>.<project>.pages.dev` are reached over
/// plain HTTP with a Host header, as the tests do).
pub const LEAF_NAMES: &[&str] = &[
    "127.0.0.1",
    "localhost",
    "*.pages.dev",
    "*.workers.dev",
    "*.netlify.app",
    "*.vercel.app",
    "*.amplifyapp.com",
];

/// A certificate authority and the server configuration of a leaf it signed.
pub struct Authority {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// Where [`Authority::ca_pem`] was written.
    pub ca_file: PathBuf,
    server: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// Makes a new CA and a leaf for [`LEAF_NAMES`], and writes the CA to `dir/ca.pem`.
    pub fn create(dir: &Path) -> Result<Authority, TlsError> {
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.distinguished_name
            .push(DnType::CommonName, "sitedrop-emulator test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

        let mut leaf =
            CertificateParams::new(LEAF_NAMES.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
        leaf.distinguished_name
            .push(DnType::CommonName, "sitedrop-emulator");
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = KeyPair::generate()?;
        let leaf_cert = leaf.signed_by(&leaf_key, &ca)?;

        // rustls' default provider is chosen explicitly: the workspace also builds reqwest's
        // rustls, and two providers in one process make the implicit choice ambiguous.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![
                    CertificateDer::from(leaf_cert.der().to_vec()),
                    ca.der().clone(),
                ],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

        let ca_pem = ca.pem();
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, &ca_pem).map_err(|source| TlsError::Write {
            path: ca_file.clone(),
            source,
        })?;
        Ok(Authority {
            ca_pem,
            ca_file,
            server: Arc::new(server),
        })
    }
}

/// What the router learns about the connection a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnMeta {
    /// Connections are numbered from 1 in the order they were accepted.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// A connection, plain or TLS.
pub enum Conn {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The first byte of a TLS record carrying a handshake (RFC 8446 §5.1, `ContentType`).
const TLS_HANDSHAKE: u8 = 0x16;

/// Accepts TCP connections, numbers them, and (with an [`Authority`]) performs TLS handshakes
/// off the accept path, so one slow client does not hold up the others.
pub struct EmuListener {
    ready: mpsc::Receiver<(Conn, ConnMeta)>,
    local: SocketAddr,
    acceptor: JoinHandle<()>,
}

impl EmuListener {
    /// Serves `listener`, TLS-first when `tls` is given.
    pub fn new(listener: TcpListener, tls: Option<&Authority>) -> io::Result<EmuListener> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = tls.map(|a| TlsAcceptor::from(a.server.clone()));
        let next_id = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, as axum's own loop does.
                        eprintln!("sitedrop-emulator: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Answers go out as soon as they are written, as real front ends send them:
                // without TCP_NODELAY a body written after its headers waits for the client's
                // delayed ACK (40 ms on Linux) whenever the headers are still unacknowledged.
                let _ = tcp.set_nodelay(true);
                let id = next_id.fetch_add(1, Ordering::Relaxed) + 1;
                let tx = tx.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let conn = match acceptor {
                        None => Some(Conn::Plain(tcp)),
                        Some(acceptor) => {
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(acceptor, tcp))
                                .await
                                .ok()
                                .flatten()
                        }
                    };
                    if let Some(conn) = conn {
                        let tls = matches!(conn, Conn::Tls(_));
                        let _ = tx.send((conn, ConnMeta { id, peer, tls })).await;
                    }
                });
            }
        });
        Ok(EmuListener {
            ready,
            local,
            acceptor: task,
        })
    }
}

/// TLS when the client opens with a handshake record, plain HTTP otherwise; `None` when the
/// client went away or the handshake failed (an untrusting client aborts it, which is its
/// business, not a server error).
async fn handshake(acceptor: TlsAcceptor, tcp: TcpStream) -> Option<Conn> {
    let mut first = [0u8; 1];
    let n = tcp.peek(&mut first).await.ok()?;
    if n == 0 {
        return None;
    }
    if first[0] != TLS_HANDSHAKE {
        return Some(Conn::Plain(tcp));
    }
    acceptor
        .accept(tcp)
        .await
        .ok()
        .map(|s| Conn::Tls(Box::new(s)))
}

impl Drop for EmuListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl Listener for EmuListener {
    type Io = Conn;
    type Addr = ConnMeta;

    async fn accept(&mut self) -> (Conn, ConnMeta) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accept task never ends by itself; if it did, serve nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<ConnMeta> {
        Ok(ConnMeta {
            id: 0,
            peer: self.local,
            tls: false,
        })
    }
}

impl Connected<IncomingStream<'_, EmuListener>> for ConnMeta {
    fn connect_info(stream: IncomingStream<'_, EmuListener>) -> Self {
        *stream.remote_addr()
    }
}
