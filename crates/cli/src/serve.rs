//! `sitedrop preview DIR` and `sitedrop serve`.

use std::net::SocketAddr;
use std::path::Path;

use sitedrop_core::provider::naming::{folder_label, slug};
use sitedrop_core::serve::LocalServer;
use sitedrop_core::{Engine, Error};

pub async fn preview(dir: &Path, port: u16) -> Result<(), Error> {
    let server = LocalServer::preview(dir, SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let name = slug(
        &folder_label(&dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())),
        63,
    );
    println!("Previewing {} at {}", dir.display(), server.url_for(&name));
    println!("Files are read fresh on each reload; secrets and ignored files are not served. Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    server.stop().await;
    Ok(())
}

pub async fn sites(engine: &Engine, port: Option<u16>) -> Result<(), Error> {
    let port = port.unwrap_or_else(|| engine.env().local_port());
    let server =
        LocalServer::sites(engine.data_dir(), SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("Serving the sites on this computer at http://localhost:{}/ (each at http://NAME.localhost:{}/). Press Ctrl-C to stop.", server.addr().port(), server.addr().port());
    let _ = tokio::signal::ctrl_c().await;
    server.stop().await;
    Ok(())
}
