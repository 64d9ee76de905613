# Thin wrappers; see README.md. CARGO_TARGET_DIR may point outside the clone (CI does).
CARGO ?= cargo
ARGS ?=

.PHONY: run build test lint fmt bench bench-ingest clean cluster-up cluster-down

## run: vane with every role in one process, embedded log under ./vane-data (ARGS="--http-addr ...")
run:
	$(CARGO) run --release --locked -p vane -- up $(ARGS)

build:
	$(CARGO) build --release --locked -p vane

## test: every test of the workspace (Kafka tests start tansu when it is on PATH)
test:
	$(CARGO) test --workspace --locked

## lint: formatting and clippy, as CI checks them
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## bench: criterion benchmarks of the pure crates
bench:
	$(CARGO) bench --locked -p vane-events -p vane-analytics

## bench-ingest: end-to-end ingest throughput (remote write → durable log), see docs/benchmarks.md
bench-ingest:
	$(CARGO) run --release --locked -p vane --example ingest_load -- $(ARGS)

clean:
	$(CARGO) clean

## cluster-up / cluster-down: Kafka + ScyllaDB + Prometheus + node-exporter + vane roles (needs Docker)
cluster-up:
	docker compose -f infra/compose/docker-compose.yml up -d --build

cluster-down:
	docker compose -f infra/compose/docker-compose.yml down -v
