//! The compile cache across machines: ccache's remote storage on a real Redis server (Debian's
//! redis-server, started here on a free loopback port). Two runs of one interpreter in two
//! separate work folders stand for two CI machines: the second, with an empty local cache,
//! gets its compiles from the remote. A dead remote fails no build, and the summary says so.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{repo_root, report, target, text, TempDir, Wheels};

/// A redis-server on a free loopback port, stopped when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(test: &str, dir: &Path) -> Option<Redis> {
        let port = free_port();
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = spawned else {
            return crate::support::skip(test, "redis-server is not installed (apt-get install redis-server)");
        };
        let redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen on 127.0.0.1:{port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(redis)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `config` (a file of the repository) with `compile_cache.remote` set, written into `dir`.
fn with_remote(config: &str, url: &str, dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo_root().join(config)).unwrap();
    let text = if text.contains("[compile_cache]") {
        text.replace("[compile_cache]\n", &format!("[compile_cache]\nremote = \"{url}\"\n"))
    } else {
        format!("{text}\n[compile_cache]\nremote = \"{url}\"\n")
    };
    let path = dir.join(format!("remote-{}.toml", free_port()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_second_machine_gets_its_compiles_from_the_remote_cache() {
    let dir = TempDir::new("remote-cache");
    let Some(redis) = Redis::start("a_second_machine_gets_its_compiles_from_the_remote_cache", dir.path()) else {
        return;
    };
    let config = with_remote("xtask/wheels.toml", &format!("redis://127.0.0.1:{}", redis.port), dir.path());
    let run = |name: &str| {
        let json = dir.path().join(format!("{name}.json"));
        let o = Wheels::host(&dir.path().join(name))
            .config(&config)
            .args(&[
                "--python",
                "cp312",
                "-o",
                dir.path().join("out").to_str().unwrap(),
                "--json",
                json.to_str().unwrap(),
            ])
            .output();
        assert!(o.status.success(), "{name}: {}", text(&o));
        (o, target(&report(&json), "cp312-cp312")["cache"].clone())
    };
    let (_, first) = run("machine-a");
    assert_eq!(first["remote_hits"], 0, "a cold remote: {first}");
    let (o, second) = run("machine-b");
    let remote = second["remote_hits"].as_u64().unwrap();
    let compiles = second["direct_hits"].as_u64().unwrap()
        + second["preprocessed_hits"].as_u64().unwrap()
        + second["misses"].as_u64().unwrap();
    assert!(compiles >= 13, "{second}");
    eprintln!("remote cache: the second machine's build got {remote} of {compiles} compiles from Redis");
    assert!(remote * 10 >= compiles * 9, "at least 90 % remote hits: {remote} of {compiles}: {second}");
    assert!(text(&o).contains(&format!("{remote} compiles came from the remote compile cache")), "{}", text(&o));
}

#[test]
fn a_dead_remote_fails_no_build() {
    let dir = TempDir::new("remote-dead");
    // A port nobody listens on.
    let config = with_remote("testdata/tinyc/wheels.toml", &format!("redis://127.0.0.1:{}", free_port()), dir.path());
    let json = dir.path().join("r.json");
    let o = Wheels::host(&dir.path().join("w"))
        .config(&config)
        .args(&["--python", "cp312", "-o", dir.path().join("out").to_str().unwrap(), "--json", json.to_str().unwrap()])
        .output();
    assert!(o.status.success(), "{}", text(&o));
    let cache = target(&report(&json), "cp312-cp312")["cache"].clone();
    assert!(cache["remote_errors"].as_u64().unwrap() > 0, "{cache}");
    assert!(
        text(&o).contains(
            "the remote compile cache (compile_cache.remote) was unreachable during the builds of host-cp312-cp312"
        ),
        "{}",
        text(&o)
    );
}
