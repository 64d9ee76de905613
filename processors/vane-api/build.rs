//! Generates the `vane.v1` messages (metrics queries, the SLA manager, users and subscriptions), the tonic server and client, and the encoded file
//! descriptor set that the reflection service serves, from proto/vane/v1 with the vendored protoc
//! (no system protoc needed).

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "../../proto/vane/v1/metrics.proto",
        "../../proto/vane/v1/sla.proto",
        "../../proto/vane/v1/users.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        .btree_map(".")
        .file_descriptor_set_path(out_dir.join("vane_v1_descriptor.bin"))
        .compile_with_config(config, &protos, &["../../proto"])?;
    Ok(())
}
