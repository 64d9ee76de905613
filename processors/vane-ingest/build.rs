//! Generates the remote-write protobuf types from proto/prometheus/remote.proto with the
//! vendored protoc (no system protoc needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "../../proto/prometheus/remote.proto";
    println!("cargo:rerun-if-changed={proto}");
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    config.compile_protos(&[proto], &["../../proto"])?;
    Ok(())
}
