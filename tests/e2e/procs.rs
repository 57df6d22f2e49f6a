//! The processes behind a test's window: Xvfb on a free display and tauri-driver (with the
//! WebKitWebDriver and the app it starts) on free ports, each in its own process group that is
//! killed whole when the guard drops, also when a test panics (tauri-driver ignores signals on
//! Linux, so killing only its own process would leave WebKitWebDriver holding its port).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A process group started by [`Group::spawn`]; killed with SIGKILL on drop.
pub struct Group {
    child: Child,
    what: &'static str,
}

impl Group {
    /// Starts `cmd` as the leader of a new process group.
    pub fn spawn(what: &'static str, cmd: &mut Command) -> Group {
        let child = cmd
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{what} does not start: {e} (scripts/test installs it)"));
        Group { child, what }
    }

    /// Fails the test when the process has exited already.
    fn alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited early: {status}", self.what);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // The group's id is the leader's pid (process_group(0)). killpg(2) straight, never the
        // `kill` program: procps-ng's `kill -KILL -PID` read the negative id as an option and
        // signalled every process of the user (kill -1).
        let pgid = i32::try_from(self.child.id())
            .ok()
            .filter(|&p| p > 1)
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pgid) = pgid {
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        }
        let _ = self.child.wait();
    }
}

/// An X server of its own: `Xvfb -displayfd` picks a free display and says which.
pub struct Display {
    pub name: String,
    _group: Group,
}

impl Display {
    pub fn start() -> Display {
        let mut cmd = Command::new("Xvfb");
        cmd.args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        let mut group = Group::spawn("Xvfb", &mut cmd);
        let mut out = group.child.stdout.take().expect("Xvfb's stdout");
        let mut number = String::new();
        let mut byte = [0u8; 1];
        while out.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
            number.push(char::from(byte[0]));
        }
        group.alive();
        assert!(!number.is_empty(), "Xvfb named no display");
        Display {
            name: format!(":{}", number.trim()),
            _group: group,
        }
    }
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// tauri-driver on free ports, for one session of the app, which it starts with `env`.
pub struct Driver {
    pub url: String,
    _group: Group,
}

impl Driver {
    pub fn start(display: &Display, env: &[(&str, &Path)]) -> Driver {
        let (port, native) = (free_port(), free_port());
        let mut cmd = Command::new(driver_binary());
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .env("DISPLAY", &display.name)
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut group = Group::spawn("tauri-driver", &mut cmd);
        let url = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        let http = reqwest::blocking::Client::new();
        while http.get(format!("{url}/status")).send().is_err() {
            group.alive();
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "tauri-driver did not answer on {url}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { url, _group: group }
    }
}

/// `tauri-driver` from PATH, or where `cargo install` puts it.
fn driver_binary() -> std::path::PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    let installed = Path::new(&home).join(".cargo/bin/tauri-driver");
    if installed.exists() {
        installed
    } else {
        "tauri-driver".into()
    }
}
